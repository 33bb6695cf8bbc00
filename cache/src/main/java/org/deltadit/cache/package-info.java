/**
 * Delta-Cache store, cache policies (Delta-DiT and baselines), MAC accounting and the budget solver.
 *
 * <p>Placeholder until its issue lands; see the module README.
 */
package org.deltadit.cache;
