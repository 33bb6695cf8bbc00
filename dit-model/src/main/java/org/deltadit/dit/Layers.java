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

    /** The cross-attention weights under {@code p}cross_attn. */
    static org.deltadit.engine.AdaLnBlock.Cross cross(Map<String, Tensor> w, String p) {
        String c = p + "cross_attn.";
        return new org.deltadit.engine.AdaLnBlock.Cross(w.get(c + "q_linear.weight"), w.get(c + "q_linear.bias"), w.get(c + "kv_linear.weight"), w.get(c + "kv_linear.bias"),
                w.get(c + "proj.weight"), w.get(c + "proj.bias"));
    }

    /** Block {@code p}'s adaLN weights (attn.qkv, attn.proj, mlp.fc1, mlp.fc2) with {@code cross} between attention and MLP, or null. */
    static org.deltadit.engine.AdaLnBlock adaLnBlock(Map<String, Tensor> w, String p, org.deltadit.engine.AdaLnBlock.Cross cross) {
        return new org.deltadit.engine.AdaLnBlock(w.get(p + "attn.qkv.weight"), w.get(p + "attn.qkv.bias"), w.get(p + "attn.proj.weight"), w.get(p + "attn.proj.bias"),
                w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias"), w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias"), cross);
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
