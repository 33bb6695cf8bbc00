/**
 * Noise schedules and samplers; they call a denoiser with the step context and know nothing about models.
 *
 * <p>Placeholder until its issue lands; see the module README.
 */
package org.deltadit.sampler;
