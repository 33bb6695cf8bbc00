package org.deltadit.dit;

import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backend.Binary;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;

/**
 * DiT with adaLN-Zero blocks (Peebles & Xie), over canonical tensors named as the official
 * checkpoint names them. The forward pass is split into {@link #embed}, {@link #block} and
 * {@link #finalLayer} so a cache policy can choose which blocks run; this class holds no cache.
 * Numerics follow the checkpoint's format (model-formats.md §1.3): diffusers checkpoints use
 * timestep frequencies /127 and LayerNorm eps 1e-5 before the MLP.
 */
public final class DitModel {
    private final DitConfig cfg;
    private final Backend be;
    private final Map<String, Tensor> w;
    private final Tensor posEmbed;
    private final int freqShift;
    private final float mlpEps;

    /** What every block needs besides the hidden state: SiLU(c) for the adaLN projections. */
    public record Conditioning(Tensor siluC) {}

    public DitModel(DitConfig cfg, Map<String, Tensor> canonical, Backend backend) {
        if (cfg.inputSize() <= 0) throw new IllegalArgumentException("DiT: unknown input size; give --image-size");
        this.cfg = cfg;
        this.be = backend;
        this.w = Map.copyOf(canonical);
        boolean diffusers = cfg.format() == CheckpointFormat.DIT_DIFFUSERS;
        this.freqShift = diffusers ? 1 : 0;
        this.mlpEps = diffusers ? 1e-5f : 1e-6f;
        int g = cfg.inputSize() / cfg.patchSize();
        Tensor pe = canonical.get("pos_embed");
        // The official checkpoint stores its (fixed) table; diffusers recomputes it, and so do we.
        this.posEmbed = pe != null ? pe.to(DType.F32) : Embeddings.sincos2d(cfg.hiddenSize(), g, g, g, g, 1);
    }

    public DitConfig config() { return cfg; }

    /** The backend the model computes on (the cache uses it for Δ arithmetic). */
    public Backend backend() { return be; }

    public int depth() { return cfg.depth(); }

    /** Patch-embeds x [B, C, H, W] into tokens [B, N, D] with the position table added. */
    public Tensor embed(Tensor x) {
        int b = x.dim(0), size = cfg.inputSize();
        if (x.rank() != 4 || x.dim(1) != cfg.inChannels() || x.dim(2) != size || x.dim(3) != size) {
            throw new IllegalArgumentException("DiT: input " + x.shapeString() + " does not fit the model (needs [B, " + cfg.inChannels() + ", " + size + ", " + size + "])");
        }
        Tensor p = be.conv2d(x, w.get("x_embedder.proj.weight"), w.get("x_embedder.proj.bias"), cfg.patchSize(), 0);
        Tensor tokens = p.reshape(b, cfg.hiddenSize(), -1).transpose(1, 2).contiguous();
        return be.add(tokens, posEmbed);
    }

    /** c = MLP(timestep embedding) + label embedding; timesteps may be fractional (Euler). */
    public Conditioning condition(float[] t, int[] labels) {
        if (t.length != labels.length) throw new IllegalArgumentException("DiT: " + t.length + " timesteps for " + labels.length + " labels");
        Tensor temb = Embeddings.timestep(t, 256, freqShift);
        Tensor c = be.linear(be.silu(be.linear(temb, w.get("t_embedder.mlp.0.weight"), w.get("t_embedder.mlp.0.bias"))),
                w.get("t_embedder.mlp.2.weight"), w.get("t_embedder.mlp.2.bias"));
        Tensor table = w.get("y_embedder.embedding_table.weight");
        Tensor y = Tensor.zeros(labels.length, cfg.hiddenSize());
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] > cfg.numClasses()) {
                throw new IllegalArgumentException("DiT: class " + labels[i] + " outside [0, " + cfg.numClasses() + "] (" + cfg.numClasses() + " is the null class)");
            }
            y.select(0, i).copyFrom(table.select(0, labels[i]));
        }
        return new Conditioning(be.silu(be.add(c, y)));
    }

    /** One adaLN-Zero block: h + gate·Attn(modulate(LN(h))), then h + gate·MLP(modulate(LN(h))). */
    public Tensor block(int i, Tensor h, Conditioning cond) {
        String p = "blocks." + i + ".";
        int b = h.dim(0), n = h.dim(1), d = cfg.hiddenSize(), heads = cfg.numHeads(), dh = d / heads;
        Tensor[] m = be.linear(cond.siluC(), w.get(p + "adaLN_modulation.1.weight"), w.get(p + "adaLN_modulation.1.bias")).unsqueeze(1).chunk(2, 6);
        Tensor a = modulate(be.layerNorm(h, null, null, 1e-6f), m[0], m[1]);
        Tensor qkv = be.linear(a, w.get(p + "attn.qkv.weight"), w.get(p + "attn.qkv.bias")).reshape(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4);
        Tensor att = Tensor.zeros(b, n, heads, dh);
        be.attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), null, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        Tensor proj = be.linear(att.reshape(b, n, d), w.get(p + "attn.proj.weight"), w.get(p + "attn.proj.bias"));
        h = be.add(h, be.mul(m[2], proj));
        Tensor mlpIn = modulate(be.layerNorm(h, null, null, mlpEps), m[3], m[4]);
        Tensor hidden = be.gelu(be.linear(mlpIn, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias")), true);
        Tensor mlp = be.linear(hidden, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias"));
        return be.add(h, be.mul(m[5], mlp));
    }

    /** Final adaLN layer and unpatchify: tokens [B, N, D] → [B, outC, H, W]. */
    public Tensor finalLayer(Tensor h, Conditioning cond) {
        int b = h.dim(0), g = cfg.inputSize() / cfg.patchSize(), p = cfg.patchSize(), oc = cfg.outChannels();
        Tensor[] m = be.linear(cond.siluC(), w.get("final_layer.adaLN_modulation.1.weight"), w.get("final_layer.adaLN_modulation.1.bias")).unsqueeze(1).chunk(2, 2);
        Tensor o = be.linear(modulate(be.layerNorm(h, null, null, 1e-6f), m[0], m[1]), w.get("final_layer.linear.weight"), w.get("final_layer.linear.bias"));
        // Each token's values are ordered (p, q, c) with c fastest: img[c, row·p + pi, col·p + qi].
        return o.reshape(b, g, g, p, p, oc).permute(0, 5, 1, 3, 2, 4).reshape(b, oc, g * p, g * p);
    }

    /** The whole model: embed, every block, final layer. */
    public Tensor forward(Tensor x, float[] t, int[] labels) {
        Conditioning c = condition(t, labels);
        Tensor h = embed(x);
        for (int i = 0; i < depth(); i++) h = block(i, h, c);
        return finalLayer(h, c);
    }

    /** x·(1 + scale) + shift with scale, shift [B, 1, D]. */
    private Tensor modulate(Tensor x, Tensor shift, Tensor scale) {
        Tensor onePlus = be.add(scale, Tensor.of(new float[] {1f}, 1));
        return be.binary(Binary.ADD, be.mul(x, onePlus), shift, null);
    }
}
