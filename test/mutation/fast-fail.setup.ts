// Under mutation testing a property that fails has done its job: stop at the first
// counterexample instead of shrinking it, so a killed mutant costs milliseconds, not the
// seconds that shrinking takes (and never looks like a time-out on a busy machine).
import fc from 'fast-check';

fc.configureGlobal({ endOnFailure: true });
