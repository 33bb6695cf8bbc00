package org.deltadit.sampler;

/**
 * What a sampler tells the model at each evaluation: step s of T (s = 1 is the noisiest) and the
 * model timestep (an integer for most samplers, fractional for Euler).
 */
public record StepContext(int step, int steps, float timestep) {}
