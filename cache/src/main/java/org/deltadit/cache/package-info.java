/**
 * Between the sampler and the model: the denoiser that batches guidance and runs the block stack,
 * where the Δ-Cache policies (issue 5) decide which blocks run.
 */
package org.deltadit.cache;
