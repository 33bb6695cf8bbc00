package org.deltadit.sampler;

/**
 * The VP schedule DiT and PixArt train with: β linear from 1e-4 to 0.02 over 1000 steps, ᾱ_t = Π(1 − β),
 * kept in double as DiT's reference code does (model-formats.md §5.0).
 */
public final class NoiseSchedule {
    public static final int TRAIN_STEPS = 1000;
    private final double[] alphasCumprod = new double[TRAIN_STEPS];

    public NoiseSchedule() {
        double prod = 1;
        for (int i = 0; i < TRAIN_STEPS; i++) {
            double beta = 1e-4 + (0.02 - 1e-4) * i / (TRAIN_STEPS - 1);
            prod *= 1 - beta;
            alphasCumprod[i] = prod;
        }
    }

    private NoiseSchedule(double[] alphasCumprod) { System.arraycopy(alphasCumprod, 0, this.alphasCumprod, 0, TRAIN_STEPS); }

    /**
     * Stable Diffusion 1.x's "scaled_linear" schedule as diffusers computes it, in float32: β =
     * linspace(√start, √end, 1000)², ᾱ = cumprod(1 − β).
     */
    public static NoiseSchedule scaledLinear(double start, double end) {
        float a = (float) Math.sqrt(start), b = (float) Math.sqrt(end);
        double[] ab = new double[TRAIN_STEPS];
        float prod = 1;
        for (int i = 0; i < TRAIN_STEPS; i++) {
            float r = a + (b - a) * i / (TRAIN_STEPS - 1); // torch.linspace in float32
            prod *= 1 - r * r;
            ab[i] = prod;
        }
        return new NoiseSchedule(ab);
    }

    /** ᾱ_t for an integer training timestep. */
    public double alphaBar(int t) { return alphasCumprod[t]; }

    /** Karras σ = √((1 − ᾱ)/ᾱ) at an integer timestep. */
    public double sigma(int t) { return Math.sqrt((1 - alphasCumprod[t]) / alphasCumprod[t]); }

    /** σ at a fractional timestep, linearly interpolated between integer ones (numpy.interp, as diffusers). */
    public double sigmaAt(double t) {
        if (t <= 0) return sigma(0);
        if (t >= TRAIN_STEPS - 1) return sigma(TRAIN_STEPS - 1);
        int lo = (int) Math.floor(t);
        double f = t - lo;
        return sigma(lo) * (1 - f) + sigma(lo + 1) * f;
    }
}
