package org.deltadit.sampler;

import java.util.SplittableRandom;

/**
 * Seeded standard-normal noise. Image i of a run draws from its own stream (seed, i), so the
 * noise of an image does not depend on the batch size, the thread count or the other images.
 */
public final class Noise {
    private final SplittableRandom[] streams;

    public Noise(long seed, int images) { this(seed, 0, images); }

    /**
     * The streams of images [first, first + images) of a run: stream i of this object is stream first + i
     * of {@code new Noise(seed, first + images)}, so a run split into parts (a cluster's partitions) draws
     * exactly the noise of the whole.
     */
    public Noise(long seed, int first, int images) {
        if (first < 0 || images < 0) throw new IllegalArgumentException("noise: first " + first + ", images " + images);
        streams = new SplittableRandom[images];
        for (int i = 0; i < images; i++) streams[i] = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + (first + (long) i) * 0xBF58476D1CE4E5B9L + 1);
    }

    /**
     * The streams of a run's fresh noise (DDPM, DDIM η > 0, LCM), kept apart from its x_T streams: the
     * seed is mixed with a fixed odd constant (java.util.Random's multiplier) so that (seed, i) never
     * draws the same values for both.
     */
    public static Noise fresh(long seed, int first, int images) { return new Noise(seed ^ 0x5DEECE66DL, first, images); }

    /** {@code per} values for image {@code i} from its stream. */
    public float[] next(int i, int per) {
        float[] v = new float[per];
        for (int k = 0; k < per; k++) v[k] = (float) streams[i].nextGaussian();
        return v;
    }

    /** One draw of {@code per} values for each of the images [from, from + count), concatenated. */
    public float[] next(int from, int count, int per) {
        float[] v = new float[count * per];
        for (int i = 0; i < count; i++) System.arraycopy(next(from + i, per), 0, v, i * per, per);
        return v;
    }
}
