package org.deltadit.sampler;

import java.util.ArrayList;
import java.util.List;

/**
 * PNDM as diffusers configures it for Stable Diffusion 1.x (skip_prk_steps: the PLMS steps only): for N
 * inference steps the model runs N + 1 times — timesteps k·(1000 // N) + offset from k = N − 1 down to 0,
 * the second one repeated. The first two evaluations make a Heun-like step (the second at the first step's
 * target, averaged with the first), then linear multistep of orders 2, 3 and 4 on the kept ε; each update
 * is PNDM's formula (9):
 * x' = √(ᾱ'/ᾱ)·x − (ᾱ' − ᾱ)·ε / (ᾱ·√(1 − ᾱ') + √(ᾱ(1 − ᾱ)ᾱ')), with ᾱ' = ᾱ_0 after the last step unless
 * set_alpha_to_one.
 */
public final class PndmSampler extends Sampler {
    private final int[] ts;
    private final int ratio;
    private final double finalAlpha;
    private final List<float[]> ets = new ArrayList<>();
    private float[] curSample;
    private int counter;

    /** {@code inferenceSteps} N gives N + 1 model evaluations (this sampler's steps). */
    public PndmSampler(int inferenceSteps, NoiseSchedule schedule, int stepsOffset, boolean setAlphaToOne) {
        super(evaluations(inferenceSteps), schedule);
        ratio = NoiseSchedule.TRAIN_STEPS / inferenceSteps;
        int[] base = new int[inferenceSteps];
        for (int k = 0; k < inferenceSteps; k++) base[k] = k * ratio + stepsOffset;
        // [base[:-1], base[-2:-1], base[-1:]] reversed: the second-highest timestep appears twice
        List<Integer> order = new ArrayList<>();
        for (int k = 0; k < inferenceSteps - 1; k++) order.add(base[k]);
        if (inferenceSteps >= 2) order.add(base[inferenceSteps - 2]);
        order.add(base[inferenceSteps - 1]);
        ts = new int[order.size()];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = order.get(order.size() - 1 - i);
            if (ts[i] >= NoiseSchedule.TRAIN_STEPS) throw new org.deltadit.engine.InvalidParameter("steps", inferenceSteps + " steps with offset " + stepsOffset + " pass timestep 999");
        }
        finalAlpha = setAlphaToOne ? 1.0 : schedule.alphaBar(0);
    }

    private static int evaluations(int n) {
        if (n < 1) throw new org.deltadit.engine.InvalidParameter("steps", n + " (must be at least 1)");
        return n >= 2 ? n + 1 : 1;
    }

    @Override public String name() { return "pndm"; }

    @Override public float[] timesteps() { return asFloats(ts); }

    @Override
    protected void reset() {
        ets.clear();
        curSample = null;
        counter = 0;
    }

    @Override
    protected float[] step(int i, float[] x, float[] eps, float[] var, FreshNoise fresh) {
        int t = ts[i], prev = t - ratio;
        if (counter != 1) ets.add(eps.clone());
        else {
            prev = t;
            t = t + ratio;
        }
        int n = ets.size();
        float[] e = new float[x.length], sample = x;
        if (n == 1 && counter == 0) {
            System.arraycopy(eps, 0, e, 0, e.length);
            curSample = x;
        } else if (n == 1 && counter == 1) {
            float[] a = ets.get(0);
            for (int k = 0; k < e.length; k++) e[k] = (eps[k] + a[k]) / 2;
            sample = curSample;
            curSample = null;
        } else {
            float[] e1 = ets.get(n - 1), e2 = ets.get(n - 2), e3 = n >= 3 ? ets.get(n - 3) : null, e4 = n >= 4 ? ets.get(n - 4) : null;
            for (int k = 0; k < e.length; k++) {
                e[k] = n == 2 ? (3 * e1[k] - e2[k]) / 2
                        : n == 3 ? (23 * e1[k] - 16 * e2[k] + 5 * e3[k]) / 12
                        : (1 / 24f) * (55 * e1[k] - 59 * e2[k] + 37 * e3[k] - 9 * e4[k]);
            }
        }
        double ab = schedule.alphaBar(t), abPrev = prev >= 0 ? schedule.alphaBar(prev) : finalAlpha;
        double coeff = Math.sqrt(abPrev / ab), denom = ab * Math.sqrt(1 - abPrev) + Math.sqrt(ab * (1 - ab) * abPrev);
        float[] out = new float[x.length];
        for (int k = 0; k < out.length; k++) out[k] = (float) (coeff * sample[k] - (abPrev - ab) * e[k] / denom);
        counter++;
        return out;
    }
}
