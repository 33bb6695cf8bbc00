package org.deltadit.sampler;

import org.deltadit.engine.Tensor;

/**
 * A sampling loop: timesteps for T steps, the model input at each, and the update from the model
 * output. Subclasses give the formulas (model-formats.md §5); this class runs the loop, tells the
 * denoiser the step context, and stops with the step number if the latent turns NaN or infinite.
 */
public abstract class Sampler {
    /** Fresh standard-normal values for stochastic steps (DDPM, DDIM η > 0, LCM). */
    @FunctionalInterface
    public interface FreshNoise {
        float[] next(int count);
    }

    /** Told after every step (progress bars, timing). */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(int step, int steps);
    }

    protected final NoiseSchedule schedule;
    protected final int steps;
    /** x0 is clamped to [−clip, clip] where the sampler forms it; 0: not clamped. */
    private double clip;
    /** x0 is thresholded image by image where the sampler forms it; null: not. */
    private Thresholding thresholding;
    /** Values per image of the run in progress (set by {@link #sample}), for thresholding. */
    private int perImage;

    protected Sampler(int steps) { this(steps, new NoiseSchedule()); }

    protected Sampler(int steps, NoiseSchedule schedule) {
        if (steps < 1) throw new org.deltadit.engine.InvalidParameter("steps", steps + " (must be at least 1)");
        this.steps = steps;
        this.schedule = schedule;
    }

    public abstract String name();

    public int steps() { return steps; }

    /** Model timesteps, in evaluation order. */
    public abstract float[] timesteps();

    /** x_T = noise × this (Euler works in σ-space, so its x_T is scaled by σ_max). */
    public double initNoiseSigma() { return 1; }

    /** Scale applied to x before the model sees it at step i (Euler: 1/√(σ²+1)). */
    protected double inputScale(int i) { return 1; }

    /**
     * One update. x is [B·C·H·W]; eps and var are the model's first C output channels and (for
     * learned-σ models) the next C, laid out like x; var is null when the model has no σ channels.
     */
    protected abstract float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh);

    /**
     * Clamps each predicted x0 to [−range, range] before the update uses it: diffusers' {@code clip_sample}, IDDPM's
     * {@code clip_denoised}. For pixel-space models trained on [−1, 1], where strong guidance pushes x0 past the
     * data's range; latent models (DiT, PixArt) leave it off. DDPM, DDIM and DPM-Solver++ form x0; the others refuse.
     */
    public Sampler clipSample(double range) {
        if (!formsX0()) throw new org.deltadit.engine.InvalidParameter("clipSample", "applies to ddpm, ddim and dpm-solver++, not " + name());
        if (thresholding != null) throw new org.deltadit.engine.InvalidParameter("clipSample", "and thresholding exclude each other (thresholding with max 1 is the clamp to ±1)");
        clip = checkClipRange(range);
        return this;
    }

    /** Dynamic thresholding of each predicted x0 ({@link Thresholding}); DDPM, DDIM and DPM-Solver++, not with {@link #clipSample}. */
    public Sampler thresholding(Thresholding t) {
        if (!formsX0()) throw new org.deltadit.engine.InvalidParameter("thresholding", "applies to ddpm, ddim and dpm-solver++, not " + name());
        if (clip != 0) throw new org.deltadit.engine.InvalidParameter("thresholding", "and the clip-sample clamp exclude each other (thresholding with max 1 is the clamp to ±1)");
        thresholding = t;
        return this;
    }

    /** {@code range} if {@link #clipSample} takes it (above 0, at most 1e6), else an {@code InvalidParameter} naming clipSample. */
    public static double checkClipRange(double range) {
        if (!(range > 0 && range <= 1e6)) throw new org.deltadit.engine.InvalidParameter("clipSample", range + " (a range above 0)");
        return range;
    }

    /** Whether {@link #step} passes its x0 through {@link #limitX0}, so that {@link #clipSample} and {@link #thresholding} apply. */
    protected boolean formsX0() { return false; }

    /** The predicted x0 = √(1/ᾱ)·x − √(1/ᾱ − 1)·ε of the discrete schedule (DDPM, DDIM), passed through {@link #limitX0}. */
    protected final double[] x0FromEps(float[] x, float[] eps, double ab) {
        double[] x0 = new double[x.length];
        for (int k = 0; k < x.length; k++) x0[k] = Math.sqrt(1 / ab) * x[k] - Math.sqrt(1 / ab - 1) * eps[k];
        limitX0(x0);
        return x0;
    }

    /** Clamps ({@link #clipSample}) or thresholds ({@link #thresholding}) the whole batch's predicted x0 [B·C·H·W] in place; without either, leaves it. */
    protected final void limitX0(double[] x0) {
        if (thresholding != null) thresholding.apply(x0, perImage);
        else if (clip != 0) for (int k = 0; k < x0.length; k++) x0[k] = Math.max(-clip, Math.min(clip, x0[k]));
    }

    /** Forgets what earlier steps left behind (multistep history), so an instance can run batch after batch. */
    protected void reset() {}

    /** Integer timesteps as the floats {@link #timesteps()} returns. */
    protected static float[] asFloats(int[] t) {
        float[] f = new float[t.length];
        for (int i = 0; i < f.length; i++) f[i] = t[i];
        return f;
    }

    /** Runs every step from unit noise [B, C, H, W]; returns x_0. */
    public final Tensor sample(Tensor noise, Denoiser model, FreshNoise fresh, StepListener listener) {
        reset();
        int[] shape = noise.shape();
        int b = shape[0], c = shape[1], hw = shape[2] * shape[3];
        perImage = c * hw;
        float[] x = noise.toFloatArray();
        double init = initNoiseSigma();
        if (init != 1) for (int k = 0; k < x.length; k++) x[k] *= (float) init;
        float[] ts = timesteps();
        for (int i = 0; i < steps; i++) {
            double s = inputScale(i);
            float[] in = x;
            if (s != 1) {
                in = x.clone();
                for (int k = 0; k < in.length; k++) in[k] *= (float) s;
            }
            Tensor out = model.apply(Tensor.of(in, shape), new StepContext(i + 1, steps, ts[i]));
            int oc = out.dim(1);
            if (out.dim(0) != b || (oc != c && oc != 2 * c) || out.dim(2) != shape[2] || out.dim(3) != shape[3]) {
                throw new IllegalStateException("model output " + out.shapeString() + " does not match the latent " + noise.shapeString());
            }
            float[] o = out.toFloatArray();
            float[] eps = new float[x.length], var = oc == 2 * c ? new float[x.length] : null;
            for (int n = 0; n < b; n++) {
                System.arraycopy(o, n * oc * hw, eps, n * c * hw, c * hw);
                if (var != null) System.arraycopy(o, n * oc * hw + c * hw, var, n * c * hw, c * hw);
            }
            x = step(i, x, eps, var, fresh);
            for (float v : x) {
                if (!Float.isFinite(v)) throw new NonFiniteLatentException(i + 1, steps);
            }
            if (listener != null) listener.afterStep(i + 1, steps);
        }
        return Tensor.of(x, shape);
    }

    /** The latent became NaN or infinite: the run stops and says at which step. */
    public static final class NonFiniteLatentException extends IllegalStateException {
        public NonFiniteLatentException(int step, int steps) {
            super("the latent became NaN or infinite at step " + step + " of " + steps);
        }
    }
}
