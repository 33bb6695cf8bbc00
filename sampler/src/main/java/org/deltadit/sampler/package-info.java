/**
 * Noise schedules, timestep spacings and samplers (DDPM, DDIM, DPM-Solver++, Euler, DEIS) and
 * classifier-free guidance. A sampler calls a {@link org.deltadit.sampler.Denoiser} with the step
 * context and knows nothing about models.
 */
package org.deltadit.sampler;
