/** Mean ± sd over seeds: core's one function (its NaN rule: an undefined run makes the figure NaN, naming the run). */
export { meanSd, type MeanSd } from '@esm2/core';
