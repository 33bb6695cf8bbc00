package org.deltadit.dit;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.T5Config;

/**
 * The T5 v1.1 encoder PixArt-α reads captions with (model-formats.md §4): token embeddings without
 * scaling, then per layer RMSNorm → self-attention without 1/√d scaling, with one relative-position
 * bias (computed in block 0, shared by all layers) plus the padding mask → RMSNorm → gated GELU-tanh
 * MLP; a final RMSNorm. No biases anywhere. Computes in F32 over weights of any stored type.
 * {@link #close} frees weights this encoder copied (the BF16 copy of an F32 checkpoint), so the
 * caller can release the encoder before denoising starts.
 */
public final class T5Encoder implements AutoCloseable {
    private final T5Config cfg;
    private final Backend be;
    private final Map<String, Tensor> w;
    private final AutoCloseable owner;

    private T5Encoder(T5Config cfg, Map<String, Tensor> w, Backend be, AutoCloseable owner) {
        this.cfg = cfg;
        this.w = w;
        this.be = be;
        this.owner = owner;
    }

    /** Over the given tensors as they are (memory-mapped or not). */
    public static T5Encoder of(T5Config cfg, Map<String, Tensor> canonical, Backend be) {
        return new T5Encoder(cfg, Map.copyOf(canonical), be, null);
    }

    /** Over tensors that {@code owner} holds (a mapped checkpoint): closing the encoder closes it. */
    public static T5Encoder owning(T5Config cfg, Map<String, Tensor> canonical, Backend be, AutoCloseable owner) {
        return new T5Encoder(cfg, Map.copyOf(canonical), be, owner);
    }

    /**
     * With every F32 matrix copied to BF16 off the heap (T5-XXL: 9.5 GB instead of 19 GB), so the
     * checkpoint's mapping can be closed; vectors (the norms) stay F32. The matmuls widen BF16 on the fly.
     * Mapped source pages are released tensor by tensor, so the copy's peak stays near the copy's size.
     */
    public static T5Encoder bf16Copy(T5Config cfg, Map<String, Tensor> canonical, Backend be) {
        Arena arena = Arena.ofShared();
        Map<String, Tensor> w = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : canonical.entrySet()) {
                Tensor t = e.getValue();
                DType to = t.rank() == 2 ? DType.BF16 : DType.F32;
                w.put(e.getKey(), Tensor.zeros(arena, to, t.shape()).copyFrom(t));
                // Drop the file pages just read from this process's resident set (they stay in the page
                // cache): otherwise the 19 GB F32 mapping and the 9.5 GB copy would be resident together.
                if (t.segment().isMapped()) t.segment().unload();
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
        return new T5Encoder(cfg, w, be, arena);
    }

    public T5Config config() { return cfg; }

    /**
     * Token ids [B][L] (0 = padding) and mask [B][L] (1 = attend) → last hidden state [B, L, d_model],
     * every position included (PixArt masks the padding later, in cross-attention).
     */
    public Tensor encode(int[][] ids, float[][] mask) {
        int b = ids.length, l = ids[0].length, d = cfg.dModel(), h = cfg.numHeads(), dkv = cfg.dKv();
        Tensor shared = w.get("shared.weight");
        Tensor x = Tensor.zeros(b, l, d);
        float[] maskBias = new float[b * l];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != l || mask[i].length != l) throw new IllegalArgumentException("T5: prompts of unequal padded length");
            for (int k = 0; k < l; k++) {
                int id = ids[i][k];
                if (id < 0 || id >= cfg.vocab()) throw new IllegalArgumentException("T5: token id " + id + " outside the vocabulary of " + cfg.vocab());
                x.select(0, i).select(0, k).copyFrom(shared.select(0, id));
                maskBias[i * l + k] = mask[i][k] == 0 ? -Float.MAX_VALUE : 0f; // HF adds finfo.min to masked keys
            }
        }
        Tensor bias = be.add(positionBias(l), Tensor.of(maskBias, b, 1, 1, l)); // [B, H, L, L]
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            String p = "encoder.block." + layer + ".layer.";
            Tensor n = be.rmsNorm(x, w.get(p + "0.layer_norm.weight"), (float) cfg.eps());
            Tensor q = heads(be.linear(n, w.get(p + "0.SelfAttention.q.weight"), null), b, l, h, dkv);
            Tensor k = heads(be.linear(n, w.get(p + "0.SelfAttention.k.weight"), null), b, l, h, dkv);
            Tensor v = heads(be.linear(n, w.get(p + "0.SelfAttention.v.weight"), null), b, l, h, dkv);
            Tensor att = Tensor.zeros(b, l, h, dkv);
            be.attention(q, k, v, bias, 1f, att.permute(0, 2, 1, 3)); // T5 folds the scaling into its initialisation
            x = be.add(x, be.linear(att.reshape(b, l, h * dkv), w.get(p + "0.SelfAttention.o.weight"), null));
            n = be.rmsNorm(x, w.get(p + "1.layer_norm.weight"), (float) cfg.eps());
            Tensor gate = be.gelu(be.linear(n, w.get(p + "1.DenseReluDense.wi_0.weight"), null), true);
            Tensor up = be.linear(n, w.get(p + "1.DenseReluDense.wi_1.weight"), null);
            x = be.add(x, be.linear(be.mul(gate, up), w.get(p + "1.DenseReluDense.wo.weight"), null));
        }
        return be.rmsNorm(x, w.get("encoder.final_layer_norm.weight"), (float) cfg.eps());
    }

    private static Tensor heads(Tensor t, int b, int l, int h, int dkv) {
        return t.reshape(b, l, h, dkv).permute(0, 2, 1, 3);
    }

    /** [1, H, L, L]: the learned bias of each query–key offset's bucket, per head. */
    Tensor positionBias(int l) {
        Tensor table = w.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        int h = cfg.numHeads();
        float[] tab = table.toFloatArray(), out = new float[h * l * l];
        for (int qi = 0; qi < l; qi++) {
            for (int ki = 0; ki < l; ki++) {
                int bucket = bucket(ki - qi, cfg.buckets(), cfg.maxDistance());
                for (int head = 0; head < h; head++) out[(head * l + qi) * l + ki] = tab[bucket * h + head];
            }
        }
        return Tensor.of(out, 1, h, l, l);
    }

    /**
     * Bidirectional bucket of rel = key − query: half the buckets for keys after the query; offsets
     * below a quarter of the buckets exactly, larger ones logarithmically up to maxDistance, computed
     * in float32 as Hugging Face does (the boundaries 16, 32, 64 land exactly on integers there).
     */
    public static int bucket(int rel, int buckets, int maxDistance) {
        int half = buckets / 2, exact = half / 2;
        int out = rel > 0 ? half : 0;
        int r = Math.abs(rel);
        if (r < exact) return out + r;
        float logRatio = (float) Math.log((float) r / exact);
        float scaled = logRatio / (float) Math.log(maxDistance / (double) exact) * (half - exact);
        return out + Math.min(half - 1, exact + (int) scaled);
    }

    @Override
    public void close() {
        try {
            if (owner != null) owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("T5: cannot release the weights (" + e.getMessage() + ")", e);
        }
    }
}
