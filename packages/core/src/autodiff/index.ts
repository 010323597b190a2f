export { grad, gradName, type GradOptions } from './grad.js';
export { backwardRules, AutodiffError, type BackwardRule } from './rules.js';
