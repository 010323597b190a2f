/**
 * @esm2/report/testing: open a report page in headless Chromium (Debian's,
 * through playwright-core, never a downloaded browser) at a 1200 px wide
 * window and measure what a reader sees — whether any table is wider than
 * its container or the page, and which colours each chart's legend entries
 * and marks use — for this package's browser test and the apps' report tests.
 * playwright-core is loaded only when a browser is launched (a dev
 * dependency: install it to use launchChromium).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { missingPath, requires, type Required } from '@esm2/core/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Debian's chromium (apt-get install -y --no-install-recommends chromium); ESM2_CHROMIUM names another binary. */
export const CHROMIUM = process.env.ESM2_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The window width every report must fit. */
export const PAGE_WIDTH = 1200;

/**
 * The browser tests' requirement (CHROMIUM), under the one skip policy of
 * @esm2/core/testing's requires(): outside CI a missing Chromium skips them
 * with the reason, under CI=true check() (in a beforeAll) fails them.
 */
export function chromiumRequired(): Required {
  return requires({ what: 'chromium', missing: missingPath(CHROMIUM), install: 'apt-get install -y --no-install-recommends chromium, or ESM2_CHROMIUM naming another binary' });
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium) or set ESM2_CHROMIUM`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface OpenedReport {
  context: BrowserContext;
  page: Page;
  /** Every request that went anywhere but the report file (each was aborted). */
  outside: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** Opens a report file at PAGE_WIDTH × 900, refusing every other request, and waits for its load event. */
export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: { width: PAGE_WIDTH, height: 900 } });
  const page = await context.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    if (route.request().url() === url) return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  const response = await page.goto(url, { waitUntil: 'load' });
  if (response !== null && !response.ok()) throw new Error(`${url}: ${response.status()}`);
  return { context, page, outside, errors };
}

export interface BoxWidth {
  /** The element: its tag and, for tables, the heading of its section. */
  what: string;
  scrollWidth: number;
  clientWidth: number;
}

export interface LegendEntry {
  label: string;
  /** The symbol's colour as the browser computes it, "rgb(…)". */
  colour: string;
  /** Its stroke-dasharray ("none" for solid). */
  dash: string;
}

export interface ChartLayout {
  kind: string;
  title: string;
  legend: LegendEntry[];
  /** The colour of every drawn series: each line's stroke, each bar's fill (reference lines left out). */
  markColours: string[];
}

export interface PageLayout {
  /** The document, every table and every ancestor of a table up to the body. */
  boxes: BoxWidth[];
  tables: number;
  charts: ChartLayout[];
}

/** The part of the DOM the page function uses (the package compiles without the DOM library). */
interface El {
  tagName: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  parentElement: El | null;
  getAttribute(name: string): string | null;
  closest(selector: string): El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}
interface Doc {
  documentElement: El;
  body: El;
  querySelectorAll(selector: string): ArrayLike<El>;
}
interface Win {
  document: Doc;
  getComputedStyle(el: El): { stroke: string; fill: string; strokeDasharray: string };
}

/** Measures the open page (see PageLayout). */
export async function pageLayout(page: Page): Promise<PageLayout> {
  return page.evaluate(() => {
    const w = globalThis as unknown as Win;
    const doc = w.document;
    const box = (el: El, what: string) => ({ what, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
    const boxes = [box(doc.documentElement, 'document')];
    const tables = Array.from(doc.querySelectorAll('table'));
    tables.forEach((t, i) => {
      const heading = t.closest('section')?.querySelector('h2')?.textContent ?? '';
      boxes.push(box(t, `table ${i + 1} (${heading})`));
      for (let p = t.parentElement; p !== null && p !== doc.documentElement; p = p.parentElement) boxes.push(box(p, `<${p.tagName.toLowerCase()}> around table ${i + 1} (${heading})`));
    });
    const visible = (c: string) => (c === 'none' || c === '' || c === 'transparent' || c === 'rgba(0, 0, 0, 0)' ? undefined : c);
    const charts = Array.from(doc.querySelectorAll('figure.chart'), (fig) => {
      const legend = Array.from(fig.querySelectorAll('.role-legend-symbol'), (sym) => {
        const path = sym.querySelector('path')!;
        const style = w.getComputedStyle(path);
        const label = sym.parentElement?.querySelector('.role-legend-label text')?.textContent ?? '';
        return { label, colour: visible(style.stroke) ?? style.fill, dash: style.strokeDasharray || 'none' };
      });
      const markColours: string[] = [];
      for (const mark of Array.from(fig.querySelectorAll('.role-mark path[aria-roledescription]'))) {
        if (mark.closest('.reference_marks') !== null) continue;
        const kind = mark.getAttribute('aria-roledescription');
        const style = w.getComputedStyle(mark);
        const colour = kind === 'line mark' ? visible(style.stroke) : kind === 'bar' ? visible(style.fill) : undefined;
        if (colour !== undefined) markColours.push(colour);
      }
      return {
        kind: fig.getAttribute('data-kind') ?? '',
        title: fig.getAttribute('data-title') ?? '',
        legend,
        markColours,
      };
    });
    return { boxes, tables: tables.length, charts };
  });
}

/** Each box wider than it is shown ("table 3 (Differences…): scrollWidth 1434 > clientWidth 1168"); empty when everything fits. */
export function overflows(layout: PageLayout): string[] {
  return layout.boxes.filter((b) => b.scrollWidth > b.clientWidth).map((b) => `${b.what}: scrollWidth ${b.scrollWidth} > clientWidth ${b.clientWidth}`);
}

/**
 * Each chart whose series do not all have a colour of their own: two legend
 * entries with one colour, a drawn colour the legend does not show, or a
 * legend entry not drawn. Empty when every chart is right.
 */
export function colourClashes(layout: PageLayout): string[] {
  const out: string[] = [];
  for (const c of layout.charts) {
    const byColour = new Map<string, string[]>();
    for (const e of c.legend) byColour.set(e.colour, [...(byColour.get(e.colour) ?? []), e.label]);
    for (const [colour, labels] of byColour) if (labels.length > 1) out.push(`${c.kind} "${c.title}": ${labels.join(', ')} share ${colour}`);
    const drawn = new Set(c.markColours);
    const shown = new Set(byColour.keys());
    for (const colour of drawn) if (!shown.has(colour)) out.push(`${c.kind} "${c.title}": ${colour} is drawn but not in the legend`);
    for (const e of c.legend) if (!drawn.has(e.colour)) out.push(`${c.kind} "${c.title}": legend entry ${e.label} (${e.colour}) is not drawn`);
  }
  return out;
}

export interface CheckedReport extends OpenedReport {
  layout: PageLayout;
  /** What the page does wrong, one line each (empty: nothing). */
  problems: string[];
  /** The full-page screenshot taken, beside the file (.png for .html). */
  screenshot: string;
}

/**
 * Opens a report file (openReport) and checks what every report page must
 * do: a PAGE_WIDTH-wide window, no table wider than its container or the
 * page, every series of a chart in a colour of its own, a legend on every
 * chart, no request leaving the file, no console or page error. Leaves a
 * full-page screenshot beside the file. The page stays open for the
 * caller's own checks (close `context` when done).
 */
export async function checkReport(browser: Browser, file: string): Promise<CheckedReport> {
  const opened = await openReport(browser, file);
  const problems: string[] = [];
  const width = await opened.page.evaluate(() => (globalThis as unknown as { innerWidth: number }).innerWidth);
  if (width !== PAGE_WIDTH) problems.push(`the window is ${width} px wide, not ${PAGE_WIDTH}`);
  const layout = await pageLayout(opened.page);
  problems.push(...overflows(layout), ...colourClashes(layout));
  for (const c of layout.charts) if (c.legend.length === 0) problems.push(`${c.kind} "${c.title}" has no legend`);
  const screenshot = file.replace(/\.html$/, '.png');
  await opened.page.screenshot({ path: screenshot, fullPage: true });
  problems.push(...opened.outside.map((url) => `requested ${url} (outside the file)`), ...opened.errors);
  return { ...opened, layout, problems, screenshot };
}
