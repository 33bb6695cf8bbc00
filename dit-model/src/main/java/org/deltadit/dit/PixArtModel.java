package org.deltadit.dit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.AdaLnBlock;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.PixArtConfig;

/**
 * PixArt-α (model-formats.md §2) over canonical tensors named as the original checkpoint names them:
 * DiT's block stack with adaLN-single (one global t_block, a learned scale_shift_table per block),
 * cross-attention to the projected caption after self-attention (no norm, no gate), the MS models'
 * size and aspect-ratio micro-conditions, and a final layer modulated by the raw timestep embedding.
 * The position table spans the native grid scaled by the interpolation scale, recomputed for the
 * run's size. No step caching here (the block loop is the caller's); the caption's projection and keys and
 * values are computed once per run ({@link Caption}).
 */
public final class PixArtModel implements CrossAttentionStack<PixArtModel.Conditioning> {
    private final PixArtConfig cfg;
    private final Backend be;
    private final Map<String, Tensor> w;
    private final Tensor posEmbed;
    private final AdaLnBlock[] blocks;

    /**
     * What the blocks need besides the hidden state: t0 = t_block(SiLU(t_emb)) [B, 6D], the raw t_emb
     * [B, D] for the final layer, and the caption side of the run ({@link Caption}).
     */
    public record Conditioning(Tensor t0, Tensor temb, Caption text) {
        /** The projected caption [B, L, D]. */
        public Tensor caption() { return text.projected(); }

        /** Its additive mask [B, 1, 1, L]. */
        public Tensor mask() { return text.mask(); }
    }

    /**
     * The caption side of a run, the same at every step: the projected caption [R, L, D], its additive mask
     * [R, 1, 1, L], and each block's keys and values [R, L, 2D], computed when a block first needs them and kept
     * for the other steps (PixArt-XL/2: 28 × R × L × 2D floats, 62 MB for R = 2, L = 120). {@link #rows} views a
     * batch's rows and shares what was computed.
     */
    public final class Caption {
        private final Tensor projected, mask;
        private final Tensor[] kv;
        private final int from, to;

        private Caption(Tensor projected, Tensor mask, Tensor[] kv, int from, int to) {
            this.projected = projected;
            this.mask = mask;
            this.kv = kv;
            this.from = from;
            this.to = to;
        }

        public int rows() { return to - from; }

        public Tensor projected() { return projected.slice(0, from, to); }

        public Tensor mask() { return mask.slice(0, from, to); }

        /** Block i's keys and values of these rows (all rows' computed at the first call). */
        public Tensor kv(int i) {
            synchronized (kv) {
                if (kv[i] == null) kv[i] = be.captionKv(projected, blocks[i].cross());
            }
            return kv[i].slice(0, from, to);
        }

        /** Rows [a, b) of this caption. */
        public Caption rows(int a, int b) {
            if (a < 0 || b > rows() || a >= b) throw new IndexOutOfBoundsException("caption rows [" + a + ", " + b + ") of " + rows());
            return new Caption(projected, mask, kv, from + a, from + b);
        }
    }

    public PixArtModel(PixArtConfig cfg, Map<String, Tensor> canonical, Backend backend) {
        this.cfg = cfg;
        this.be = backend;
        this.w = Map.copyOf(canonical);
        this.blocks = new AdaLnBlock[cfg.depth()];
        for (int i = 0; i < blocks.length; i++) blocks[i] = Layers.adaLnBlock(w, "blocks." + i + ".", Layers.cross(w, "blocks." + i + "."));
        int g = cfg.inputSize() / cfg.patchSize(), base = cfg.nativeSize() / cfg.patchSize();
        this.posEmbed = Embeddings.sincos2d(cfg.hiddenSize(), g, g, base, base, cfg.interpolationScale());
    }

    public PixArtConfig config() { return cfg; }

    @Override
    public Backend backend() { return be; }

    @Override
    public int depth() { return cfg.depth(); }

    /** The learned null caption [L, C] of original checkpoints, or null (diffusers drops it). */
    public Tensor nullCaption() { return w.get("y_embedder.y_embedding"); }

    @Override
    public Tensor embed(Tensor x) { return Layers.patchEmbed(be, w, cfg, posEmbed, x, "PixArt"); }

    /**
     * The conditioning of one batch: timesteps t [B] (may be fractional), caption features [B, L, C]
     * with mask [B, L] (1 = token, 0 = padding; every row needs a token), and for MS models the
     * image height and width in pixels (aspect ratio = height / width).
     */
    public Conditioning condition(float[] t, Tensor caption, float[] mask, int heightPx, int widthPx) {
        if (caption.rank() != 3 || caption.dim(0) != t.length) {
            throw new IllegalArgumentException("PixArt: caption features " + caption.shapeString() + " for " + t.length + " timesteps");
        }
        return condition(t, caption(caption, mask), heightPx, widthPx);
    }

    /** As above with a run's {@link Caption}: its projection and the blocks' keys and values are not computed again. */
    public Conditioning condition(float[] t, Caption text, int heightPx, int widthPx) {
        int b = t.length, d = cfg.hiddenSize();
        if (text.rows() != b) throw new IllegalArgumentException("PixArt: a caption of " + text.rows() + " rows for " + b + " timesteps");
        Tensor temb = Layers.embedMlp(be, w, "t_embedder", Embeddings.timestep(t, PixArtConfig.FREQUENCY_WIDTH, 0));
        if (cfg.microConditions()) {
            float[] hw = new float[2 * b], ar = new float[b];
            for (int i = 0; i < b; i++) {
                hw[2 * i] = heightPx;
                hw[2 * i + 1] = widthPx;
                ar[i] = heightPx / (float) widthPx;
            }
            Tensor size = Layers.embedMlp(be, w, "csize_embedder", Embeddings.timestep(hw, PixArtConfig.FREQUENCY_WIDTH, 0)).reshape(b, 2 * cfg.sizeEmbedWidth());
            Tensor aspect = Layers.embedMlp(be, w, "ar_embedder", Embeddings.timestep(ar, PixArtConfig.FREQUENCY_WIDTH, 0));
            temb = be.add(temb, Tensor.concat(1, size, aspect));
        }
        Tensor t0 = Layers.linear(be, w, "t_block.1", be.silu(temb));
        return new Conditioning(t0.reshape(b, 6, d), temb, text);
    }

    /**
     * The caption side of a run: caption features [R, L, C] with mask [R, L] (1 = token, 0 = padding; every row
     * needs a token), projected once; the blocks' keys and values follow as they are needed.
     */
    public Caption caption(Tensor caption, float[] mask) {
        if (caption.rank() != 3 || caption.dim(2) != cfg.captionChannels() || caption.dim(1) > cfg.maxTokens() || caption.dim(0) == 0) {
            throw new IllegalArgumentException("PixArt: caption features " + caption.shapeString() + " do not fit (needs [B, L ≤ " + cfg.maxTokens() + ", " + cfg.captionChannels() + "])");
        }
        int b = caption.dim(0), l = caption.dim(1);
        if (mask.length != b * l) throw new IllegalArgumentException("PixArt: mask of " + mask.length + " values for " + b + " × " + l + " tokens");
        float[] bias = new float[b * l];
        for (int i = 0; i < b; i++) {
            boolean any = false;
            for (int k = 0; k < l; k++) {
                float m = mask[i * l + k];
                if (m != 0 && m != 1) throw new IllegalArgumentException("PixArt: caption mask value " + m + " (must be 0 or 1)");
                any |= m == 1;
                // diffusers' additive bias; exp(−10000 + logit) is exactly 0 in float, as removing the token would be
                bias[i * l + k] = m == 1 ? 0f : -10000f;
            }
            if (!any) throw new IllegalArgumentException("PixArt: caption " + i + " has no unmasked token");
        }
        Tensor y = Layers.mlp(be, w, "y_embedder.y_proj", caption);
        return new Caption(y, Tensor.of(bias, b, 1, 1, l), new Tensor[cfg.depth()], 0, b);
    }

    /** x += gate·SelfAttn(modulate(LN x)); x += CrossAttn(x, caption); x += gate·MLP(modulate(LN x)). */
    @Override
    public Tensor block(int i, Tensor h, Conditioning c) { return blocks(i, i + 1, h, c); }

    @Override
    public Tensor blocks(int from, int to, Tensor h, Conditioning c) {
        List<AdaLnBlock.Call> calls = new ArrayList<>();
        for (int i = from; i < to; i++) {
            Tensor mod = be.add(c.t0(), w.get("blocks." + i + ".scale_shift_table")).reshape(h.dim(0), -1);
            calls.add(new AdaLnBlock.Call(blocks[i], mod, c.text().kv(i)));
        }
        return be.adaLnBlocks(h, calls, cfg.numHeads(), 1e-6f, 1e-6f, c.mask());
    }

    @Override
    public Tensor modulatedInput(int i, Tensor h, Conditioning c) {
        Tensor[] m = modulation(i, c);
        return Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[0], m[1]);
    }

    /** The first part of block i: h + gate_msa·SelfAttn(modulate(LN h)). (T-GATE runs the parts apart.) */
    @Override
    public Tensor selfAttention(int i, Tensor h, Conditioning c) {
        Tensor[] m = modulation(i, c);
        Tensor att = Layers.selfAttention(be, w, "blocks." + i + ".", Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[0], m[1]), cfg.numHeads());
        return be.add(h, be.mul(m[2], att));
    }

    /** Block i's cross-attention output (to be added to h): no norm, no gate. */
    @Override
    public Tensor crossAttention(int i, Tensor h, Conditioning c) {
        return be.crossAttentionKv(h, c.text().kv(i), c.mask(), blocks[i].cross(), cfg.numHeads());
    }

    /** The last part of block i: h + gate_mlp·MLP(modulate(LN h)). */
    @Override
    public Tensor mlp(int i, Tensor h, Conditioning c) {
        Tensor[] m = modulation(i, c);
        Tensor mlp = Layers.mlp(be, w, "blocks." + i + ".mlp", Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[3], m[4]));
        return be.add(h, be.mul(m[5], mlp));
    }

    /** shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp of block i, each [B, 1, D]. */
    private Tensor[] modulation(int i, Conditioning c) {
        return be.add(c.t0(), w.get("blocks." + i + ".scale_shift_table")).chunk(1, 6);
    }

    /** shift, scale = scale_shift_table + t_emb (no SiLU, no linear); then the projection and unpatchify. */
    @Override
    public Tensor finalLayer(Tensor h, Conditioning c) {
        int g = cfg.inputSize() / cfg.patchSize();
        Tensor[] m = be.add(c.temb().unsqueeze(1), w.get("final_layer.scale_shift_table")).chunk(1, 2);
        Tensor o = Layers.linear(be, w, "final_layer.linear", Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[0], m[1]));
        return Layers.unpatchify(o, g, g, cfg.patchSize(), cfg.outChannels());
    }
}
