package org.deltadit.sampler;

/**
 * σ-parametrised steps for the multistep solvers: σ_i at each timestep plus the final σ, with
 * α = 1/√(1+σ²), σ_VP = σ·α and λ = ln α − ln σ_VP (model-formats.md §5.0).
 */
record SigmaSteps(int[] timesteps, double[] sigmas) {

    static SigmaSteps of(NoiseSchedule s, int steps, Spacing spacing, double finalSigma) {
        int[] ts = spacing.timesteps(steps, false);
        double[] sig = new double[steps + 1];
        for (int i = 0; i < steps; i++) sig[i] = s.sigma(ts[i]);
        sig[steps] = finalSigma;
        return new SigmaSteps(ts, sig);
    }

    static double alpha(double sigma) { return 1 / Math.sqrt(1 + sigma * sigma); }

    static double sigmaVp(double sigma) { return sigma * alpha(sigma); }

    static double lambda(double sigma) { return Math.log(alpha(sigma)) - Math.log(sigmaVp(sigma)); }

}
