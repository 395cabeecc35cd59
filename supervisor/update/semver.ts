/**
 * The semver functions outlast uses, each loaded from its own module of the
 * semver package instead of its index, which loads every function, range
 * helper and class (about 2 MB more resident once the update pipeline has
 * run, and the pipeline stays). Use as `semver.valid(v)`, like the package.
 */
import clean from 'semver/functions/clean.js';
import compare from 'semver/functions/compare.js';
import gt from 'semver/functions/gt.js';
import lt from 'semver/functions/lt.js';
import lte from 'semver/functions/lte.js';
import rsort from 'semver/functions/rsort.js';
import satisfies from 'semver/functions/satisfies.js';
import valid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';

export const semver = { clean, compare, gt, lt, lte, rsort, satisfies, valid, validRange };
