package org.deltadit.dit;

import org.deltadit.engine.Tensor;

/** Text-encoder features of one or several captions with their masks ([B, L, C] and B·L values, 1 = token). */
public record CaptionFeatures(Tensor embeds, float[] mask) {
    public CaptionFeatures {
        if (embeds.rank() != 3 || mask.length != embeds.dim(0) * embeds.dim(1)) {
            throw new IllegalArgumentException("caption features " + embeds.shapeString() + " with a mask of " + mask.length + " values");
        }
    }

    public int count() { return embeds.dim(0); }

    public int tokens() { return embeds.dim(1); }

    /** Rows [from, to), padded with masked zero tokens to {@code length}. */
    public CaptionFeatures rows(int from, int to, int length) {
        int l = tokens(), c = embeds.dim(2);
        Tensor e = Tensor.zeros(to - from, length, c);
        e.slice(1, 0, l).copyFrom(embeds.slice(0, from, to));
        float[] m = new float[(to - from) * length];
        for (int i = from; i < to; i++) System.arraycopy(mask, i * l, m, (i - from) * length, l);
        return new CaptionFeatures(e, m);
    }

    /** The rows at the given indices, in that order (an index may repeat). */
    public CaptionFeatures pick(int... idx) {
        int l = tokens();
        Tensor[] e = new Tensor[idx.length];
        float[] m = new float[idx.length * l];
        for (int i = 0; i < idx.length; i++) {
            e[i] = embeds.slice(0, idx[i], idx[i] + 1);
            System.arraycopy(mask, idx[i] * l, m, i * l, l);
        }
        return new CaptionFeatures(Tensor.concat(0, e), m);
    }

    /** These rows followed by {@code other}'s (same token count). */
    public CaptionFeatures append(CaptionFeatures other) {
        float[] m = new float[mask.length + other.mask.length];
        System.arraycopy(mask, 0, m, 0, mask.length);
        System.arraycopy(other.mask, 0, m, mask.length, other.mask.length);
        return new CaptionFeatures(Tensor.concat(0, embeds, other.embeds), m);
    }

    /** Rows [from, to) as they are (no padding). */
    public CaptionFeatures slice(int from, int to) {
        int l = tokens();
        return new CaptionFeatures(embeds.slice(0, from, to), java.util.Arrays.copyOfRange(mask, from * l, to * l));
    }
}
