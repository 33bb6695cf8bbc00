package org.deltadit.cli;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.cache.DitDenoiser;
import org.deltadit.cache.Plan;
import org.deltadit.dit.DitModel;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Noise;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;

/**
 * Deterministic sampling of many images for the evaluations (bench compare, analyze): classes in
 * turn, seeded noise, batches with an optional cache plan and block observer. Every configuration
 * of one run sees the same noise and labels.
 */
final class Sampling {
    private Sampling() {}

    /** Labels 0, 1, …, classes − 1, 0, … for {@code count} images. */
    static int[] labels(int count, int classes) {
        int[] y = new int[count];
        for (int i = 0; i < count; i++) y[i] = i % classes;
        return y;
    }

    /** x_T for {@code count} images of the model's shape from {@code seed}. */
    static Tensor noise(DitModel m, long seed, int count) {
        int side = m.config().inputSize(), c = m.config().inChannels();
        return Tensor.of(new Noise(seed, count).next(0, count, c * side * side), count, c, side, side);
    }

    /**
     * Samples every image in batches; {@code plan} null runs every block, {@code observer} (may be null) is
     * told of each block and reset between batches. Stochastic samplers (DDPM) draw their fresh noise from
     * streams seeded by {@code seed} and the image index, so every configuration of a run sees the same.
     */
    static Tensor run(DitModel m, String sampler, int steps, double cfg, Tensor noise, int[] labels, int batch, Plan plan,
                      org.deltadit.cache.analysis.DeltaSimilarity observer, long seed) {
        Sampler s = Samplers.create(sampler, steps, null, true, 0, false);
        int count = labels.length, guided = m.config().inChannels();
        Noise fresh = new Noise(seed ^ 0x5DEECE66DL, count);
        List<Tensor> parts = new ArrayList<>();
        for (int from = 0; from < count; from += batch) {
            int to = Math.min(count, from + batch), f0 = from, cnt = to - from;
            DitDenoiser den = new DitDenoiser(m, java.util.Arrays.copyOfRange(labels, from, to), cfg, guided, plan, null);
            if (observer != null) {
                observer.newBatch();
                den.observe(observer);
            }
            parts.add(s.sample(noise.slice(0, from, to), den, k -> fresh.next(f0, cnt, k / cnt), null));
        }
        return Tensor.concat(0, parts.toArray(new Tensor[0]));
    }
}
