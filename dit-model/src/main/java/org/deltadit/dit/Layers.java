package org.deltadit.dit;

import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backend.Binary;
import org.deltadit.engine.Tensor;

/** The sub-layers DiT and PixArt-α share, over tensors named as the original checkpoints name them. */
final class Layers {
    private Layers() {}

    /** x·(1 + scale) + shift with scale and shift broadcast over the tokens ([B, 1, D]). */
    static Tensor modulate(Backend be, Tensor x, Tensor shift, Tensor scale) { return be.modulate(x, shift, scale); }

    /**
     * x_embedder: x [B, C, H, W] of the model's size → patch tokens [B, N, D] plus the position table;
     * {@code family} names the model in the message for an input of the wrong shape.
     */
    static Tensor patchEmbed(Backend be, Map<String, Tensor> w, org.deltadit.weights.ModelConfig cfg, Tensor posEmbed, Tensor x, String family) {
        int b = x.dim(0), size = cfg.inputSize();
        if (x.rank() != 4 || x.dim(1) != cfg.inChannels() || x.dim(2) != size || x.dim(3) != size) {
            throw new IllegalArgumentException(family + ": input " + x.shapeString() + " does not fit the model (needs [B, " + cfg.inChannels() + ", " + size + ", " + size + "])");
        }
        Tensor p = be.conv2d(x, w.get("x_embedder.proj.weight"), w.get("x_embedder.proj.bias"), cfg.patchSize(), 0);
        return be.add(p.reshape(b, cfg.hiddenSize(), -1).transpose(1, 2).contiguous(), posEmbed);
    }

    /** Linear layer {@code name}.weight / .bias. */
    static Tensor linear(Backend be, Map<String, Tensor> w, String name, Tensor x) {
        return be.linear(x, w.get(name + ".weight"), w.get(name + ".bias"));
    }

    /** Multi-head self-attention with the fused qkv projection: {@code p}attn.qkv, {@code p}attn.proj. */
    static Tensor selfAttention(Backend be, Map<String, Tensor> w, String p, Tensor x, int heads) {
        return be.selfAttention(x, w.get(p + "attn.qkv.weight"), w.get(p + "attn.qkv.bias"), w.get(p + "attn.proj.weight"), w.get(p + "attn.proj.bias"), heads);
    }

    /**
     * PixArt's cross-attention: queries from the image tokens x [B, N, D], keys and values from the
     * projected caption y [B, L, D] (kv_linear: k first, then v); mask additive [B, 1, 1, L] or null.
     */
    static Tensor crossAttention(Backend be, Map<String, Tensor> w, String p, Tensor x, Tensor y, Tensor mask, int heads) {
        int b = x.dim(0), n = x.dim(1), d = x.dim(2), l = y.dim(1), dh = d / heads;
        Tensor q = linear(be, w, p + "cross_attn.q_linear", x).reshape(b, n, heads, dh).permute(0, 2, 1, 3);
        Tensor kv = linear(be, w, p + "cross_attn.kv_linear", y).reshape(b, l, 2, heads, dh).permute(2, 0, 3, 1, 4);
        Tensor att = Tensor.zeros(b, n, heads, dh);
        be.attention(q, kv.select(0, 0), kv.select(0, 1), mask, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        return linear(be, w, p + "cross_attn.proj", att.reshape(b, n, d));
    }

    /** fc2(GELU-tanh(fc1(x))) under {@code name}.fc1 / .fc2. */
    static Tensor mlp(Backend be, Map<String, Tensor> w, String name, Tensor x) {
        return linear(be, w, name + ".fc2", be.gelu(linear(be, w, name + ".fc1", x), true));
    }

    /** mlp.2(SiLU(mlp.0(x))): the timestep and size embedders. */
    static Tensor embedMlp(Backend be, Map<String, Tensor> w, String name, Tensor x) {
        return linear(be, w, name + ".mlp.2", be.silu(linear(be, w, name + ".mlp.0", x)));
    }

    /** Tokens [B, gh·gw, p·p·c] → image [B, c, gh·p, gw·p]; each token's values are ordered (p, q, c) with c fastest. */
    static Tensor unpatchify(Tensor o, int gh, int gw, int p, int c) {
        return o.reshape(o.dim(0), gh, gw, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(o.dim(0), c, gh * p, gw * p);
    }
}
