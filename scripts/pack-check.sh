#!/usr/bin/env bash
# The published packages as a stranger gets them. Builds, lints every
# package's packed tarball (publint, and @arethetypeswrong/cli with the
# esm-only profile), checks what each tarball holds, installs the tarballs
# into a scratch project outside the workspace, and there runs the CLIs and
# every README's example (the ```js block after `<!-- example -->`),
# verbatim, after type-checking each under `tsc --strict`. Any failure exits
# non-zero. KEEP=1 keeps the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Every published package, dependencies first (the order examples run in).
PUBLISHED=(packages/core packages/report packages/data packages/baseline-xgboost packages/backend-onnx packages/backend-tfjs packages/backend-torch packages/cli-kit apps/trainer apps/scorer)

work=$(mktemp -d "${TMPDIR:-/tmp}/esm2-pack-check.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "pack-check: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
step() { printf '\npack-check: %s\n' "$*"; }
fail() { printf 'pack-check: FAILED: %s\n' "$*" >&2; exit 1; }

step "pnpm build"
pnpm build

# pnpm pack applies publishConfig (dist/ exports) and rewrites workspace:*
# to the version; that tarball is what is published, so it is the one
# linted (attw --pack would run `npm pack`, which does neither).
mkdir -p "$work/tarballs"
declare -A TARBALL
for dir in "${PUBLISHED[@]}"; do
  name=$(node -p "require('./$dir/package.json').name")
  step "pack $name"
  tgz=$(cd "$dir" && pnpm pack --pack-destination "$work/tarballs" | grep -E '\.tgz$' | tail -1)
  [ -f "$tgz" ] || tgz="$work/tarballs/$(basename "$tgz")"
  [ -f "$tgz" ] || fail "$name: pnpm pack made no tarball"
  TARBALL[$name]=$tgz

  # What the tarball holds: the build, README and LICENSE; no tests, no test support, nothing that imports vitest.
  list=$(tar -tzf "$tgz")
  for f in package/package.json package/README.md package/LICENSE package/dist/index.js package/dist/index.d.ts; do
    grep -qxF "$f" <<<"$list" || fail "$name: $f is missing from $(basename "$tgz")"
  done
  if bad=$(grep -E '\.test\.|/test-support/|/testing/|/src/|\.map$' <<<"$list"); then fail "$name: the tarball ships test or source files:"$'\n'"$bad"; fi
  mkdir -p "$work/unpacked/$name" && tar -xzf "$tgz" -C "$work/unpacked/$name"
  if grep -rlE "from ['\"]vitest['\"]" "$work/unpacked/$name/package/dist" >/dev/null; then fail "$name: its build imports vitest"; fi
  cmp -s LICENSE "$work/unpacked/$name/package/LICENSE" || fail "$name: its LICENSE differs from the repository's"
  if grep -q '"workspace:' "$work/unpacked/$name/package/package.json"; then fail "$name: workspace: ranges left in the packed package.json"; fi

  step "publint $name"
  pnpm exec publint run --strict "$tgz"
  step "attw --profile esm-only $name"
  pnpm exec attw "$tgz" --profile esm-only --no-emoji --no-color
done

# A scratch project outside the workspace: pnpm with every @esm2 package
# overridden to its tarball (their ranges are not on the registry), and the
# allowBuilds entry a consumer needs for onnxruntime-node under pnpm 12.
app="$work/app"
mkdir -p "$app"
{
  echo '{ "name": "esm2-pack-check", "private": true, "type": "module", "dependencies": {'
  sep=''
  for dir in "${PUBLISHED[@]}"; do
    name=$(node -p "require('./$dir/package.json').name")
    printf '%s  "%s": "file:%s"' "$sep" "$name" "${TARBALL[$name]}"
    sep=$',\n'
  done
  # The cli-kit example builds its program with commander, as its README says to install.
  printf '%s  "commander": "%s"' "$sep" "$(node -p "require('./packages/cli-kit/package.json').dependencies.commander")"
  printf '\n} }\n'
} >"$app/package.json"
{
  echo 'allowBuilds:'
  echo '  onnxruntime-node: false'
  echo '  core-js: false # via @tensorflow/tfjs (@esm2/backend-tfjs): its script only prints a funding message'
  echo 'overrides:'
  for dir in "${PUBLISHED[@]}"; do
    name=$(node -p "require('./$dir/package.json').name")
    echo "  '$name': 'file:${TARBALL[$name]}'"
  done
} >"$app/pnpm-workspace.yaml"
step "install the tarballs into $app"
(cd "$app" && pnpm install --prefer-offline --no-frozen-lockfile --config.confirmModulesPurge=false)

run() { echo "+ $*"; "$@"; }
cd "$app"
step "the CLIs from their bin entries"
run pnpm exec esm2-train --help >/dev/null
run pnpm exec esm2-train --version
run pnpm exec esm2-score --help >/dev/null
# The data the README examples read (as the trainer's README makes it), from the published generator.
run pnpm exec esm2-train data generate --rows 60000 --seed 1 --out train.csv
run pnpm exec esm2-train data generate --rows 40000 --seed 2 --out valid.csv

# Each README's example, extracted verbatim and run from the scratch project.
example() {
  local readme=$1 out=$2
  awk '/<!-- example -->/ { armed = 1; next } armed && /^```(js|javascript|ts)$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' "$readme" >"$out"
  [ -s "$out" ] || fail "$readme has no \`<!-- example -->\` block"
}
mkdir -p typed
for dir in "${PUBLISHED[@]}"; do
  name=$(node -p "require('$root/$dir/package.json').name")
  file="example-${name#@esm2/}.mjs"
  example "$work/unpacked/$name/package/README.md" "$file"
  cp "$file" "typed/${file%.mjs}.mts"
done

# Every example also type-checks under `tsc --strict` as a TypeScript module against the
# installed packages' declarations (what a TypeScript user copying it gets); the
# repository's TypeScript and @types/node, since the scratch project installs neither.
step "tsc --strict: every README example against the installed packages' types"
cat >typed/tsconfig.json <<JSON
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "target": "ES2022", "lib": ["ES2023"], "module": "NodeNext", "moduleResolution": "NodeNext",
    "skipLibCheck": true, "types": ["node"], "typeRoots": ["$root/node_modules/@types"]
  },
  "include": ["*.mts"]
}
JSON
run "$root/node_modules/.bin/tsc" -p typed || fail "a README example does not type-check under tsc --strict"

for dir in "${PUBLISHED[@]}"; do
  name=$(node -p "require('$root/$dir/package.json').name")
  file="example-${name#@esm2/}.mjs"
  step "README example of $name ($file)"
  cat "$file"
  echo '---'
  node "$file" || fail "the README example of $name exited $?"
  if [ "$name" = '@esm2/trainer' ]; then
    # The scorer's example scores the model the trainer's example trained, exported to ONNX.
    run pnpm exec esm2-train export --model runs/esm2 --onnx esm2.onnx
    run pnpm exec esm2-score --model esm2.onnx --data valid.csv --out preds.csv --keys user_id,item_id
    [ "$(wc -l <preds.csv)" -eq 40001 ] || fail "esm2-score wrote $(wc -l <preds.csv) lines for 40000 rows"
  fi
done

# The service from its bin: it answers, and SIGTERM (to the process the bin started, no
# package-manager wrapper in between) stops it with exit 0.
step "esm2-score serve: answers POST /v1/score, stops on SIGTERM"
node_modules/.bin/esm2-score serve --model esm2.onnx --port 0 >serve.log 2>&1 &
server=$!
url=''
for _ in $(seq 1 240); do
  url=$(grep -oE 'http://[0-9.:]+' serve.log | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || fail "esm2-score serve exited before listening: $(cat serve.log)"
  sleep 0.25
done
[ -n "$url" ] || { kill "$server"; fail "esm2-score serve did not report its address within 60 s: $(cat serve.log)"; }
row=$(head -2 valid.csv | node -e 'const [h, l] = require("fs").readFileSync(0, "utf8").trim().split("\n"); const c = l.split(","); const num = new Set(["price", "item_rating"]); console.log(JSON.stringify({ rows: [Object.fromEntries(h.split(",").map((k, i) => [k, num.has(k) ? Number(c[i]) : c[i]]).filter(([k]) => !["click", "daction", "buy"].includes(k)))] }))')
URL=$url ROW=$row node --input-type=module -e '
  const res = await fetch(`${process.env.URL}/v1/score`, { method: "POST", headers: { "content-type": "application/json" }, body: process.env.ROW });
  const body = await res.json();
  console.log(res.status, JSON.stringify(body));
  if (res.status !== 200 || typeof body.predictions?.[0]?.pctcvr !== "number") process.exit(1);
' || { kill "$server"; fail "POST /v1/score did not answer with predictions"; }
kill -TERM "$server"
for _ in $(seq 1 120); do kill -0 "$server" 2>/dev/null || break; sleep 0.25; done
if kill -0 "$server" 2>/dev/null; then kill -KILL "$server"; fail "esm2-score serve still running 30 s after SIGTERM"; fi
wait "$server" && served=0 || served=$?
[ "$served" = 0 ] || fail "esm2-score serve exited $served after SIGTERM: $(cat serve.log)"

# @esm2/backend-tfjs and @esm2/backend-torch are optional peers of the trainer: without
# them the onnx engine trains and `--backend tfjs|torch` fails naming the package to install.
step "the trainer without the optional @esm2/backend-tfjs and @esm2/backend-torch"
lean="$work/lean"
mkdir -p "$lean"
printf '{ "name": "esm2-pack-check-lean", "private": true, "type": "module", "dependencies": { "@esm2/trainer": "file:%s" } }\n' "${TARBALL[@esm2/trainer]}" >"$lean/package.json"
grep -v "@esm2/backend-tfjs" "$app/pnpm-workspace.yaml" | grep -v core-js >"$lean/pnpm-workspace.yaml"
(cd "$lean" && pnpm install --prefer-offline --no-frozen-lockfile --config.confirmModulesPurge=false)
[ ! -e "$lean/node_modules/.pnpm/node_modules/@esm2/backend-tfjs" ] || fail "@esm2/backend-tfjs was installed without being asked for"
cd "$lean"
run pnpm exec esm2-train fit --data "$app/train.csv" --model esm2 --out runs/onnx --epochs 1 --towers 16 --embedding-dim 4
if pnpm exec esm2-train fit --data "$app/train.csv" --model esm2 --out runs/tfjs --epochs 1 --backend tfjs 2>tfjs.err; then fail "--backend tfjs succeeded without @esm2/backend-tfjs"; fi
cat tfjs.err
grep -q 'npm install @esm2/backend-tfjs' tfjs.err || fail "--backend tfjs without the package does not say to install @esm2/backend-tfjs"
# @esm2/backend-torch is the other optional peer, refused the same way.
[ ! -e "$lean/node_modules/.pnpm/node_modules/@esm2/backend-torch" ] || fail "@esm2/backend-torch was installed without being asked for"
if pnpm exec esm2-train fit --data "$app/train.csv" --model esm2 --out runs/torch --epochs 1 --backend torch 2>torch.err; then fail "--backend torch succeeded without @esm2/backend-torch"; fi
cat torch.err
grep -q 'npm install @esm2/backend-torch' torch.err || fail "--backend torch without the package does not say to install @esm2/backend-torch"

step "ok: ${#PUBLISHED[@]} packages packed, linted, installed and their README examples run"
