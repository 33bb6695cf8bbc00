package org.deltadit.dit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.AdaLnBlock;
import org.deltadit.engine.Backend;
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
public final class DitModel implements BlockStack<DitModel.Conditioning> {
    private final DitConfig cfg;
    private final Backend be;
    private final Map<String, Tensor> w;
    private final Tensor posEmbed;
    private final int freqShift;
    private final float mlpEps;
    private final AdaLnBlock[] blocks;

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
        this.blocks = new AdaLnBlock[cfg.depth()];
        for (int i = 0; i < blocks.length; i++) blocks[i] = Layers.adaLnBlock(w, "blocks." + i + ".", null);
    }

    public DitConfig config() { return cfg; }

    @Override
    public Backend backend() { return be; }

    @Override
    public int depth() { return cfg.depth(); }

    /** Patch-embeds x [B, C, H, W] into tokens [B, N, D] with the position table added. */
    @Override
    public Tensor embed(Tensor x) { return Layers.patchEmbed(be, w, cfg, posEmbed, x, "DiT"); }

    /** c = MLP(timestep embedding) + label embedding; timesteps may be fractional (Euler). */
    public Conditioning condition(float[] t, int[] labels) {
        if (t.length != labels.length) throw new IllegalArgumentException("DiT: " + t.length + " timesteps for " + labels.length + " labels");
        Tensor temb = Embeddings.timestep(t, DitConfig.FREQUENCY_WIDTH, freqShift);
        Tensor c = Layers.embedMlp(be, w, "t_embedder", temb);
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

    @Override
    public Tensor modulatedInput(int i, Tensor h, Conditioning cond) {
        Tensor[] m = Layers.linear(be, w, "blocks." + i + ".adaLN_modulation.1", cond.siluC()).unsqueeze(1).chunk(2, 6);
        return Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[0], m[1]);
    }

    /** One adaLN-Zero block: h + gate·Attn(modulate(LN(h))), then h + gate·MLP(modulate(LN(h))). */
    @Override
    public Tensor block(int i, Tensor h, Conditioning cond) { return blocks(i, i + 1, h, cond); }

    @Override
    public Tensor blocks(int from, int to, Tensor h, Conditioning cond) {
        List<AdaLnBlock.Call> calls = new ArrayList<>();
        for (int i = from; i < to; i++) calls.add(new AdaLnBlock.Call(blocks[i], Layers.linear(be, w, "blocks." + i + ".adaLN_modulation.1", cond.siluC()), null));
        return be.adaLnBlocks(h, calls, cfg.numHeads(), 1e-6f, mlpEps, null);
    }

    /** Final adaLN layer and unpatchify: tokens [B, N, D] → [B, outC, H, W]. */
    @Override
    public Tensor finalLayer(Tensor h, Conditioning cond) {
        int g = cfg.inputSize() / cfg.patchSize();
        Tensor[] m = Layers.linear(be, w, "final_layer.adaLN_modulation.1", cond.siluC()).unsqueeze(1).chunk(2, 2);
        Tensor o = Layers.linear(be, w, "final_layer.linear", Layers.modulate(be, be.layerNorm(h, null, null, 1e-6f), m[0], m[1]));
        return Layers.unpatchify(o, g, g, cfg.patchSize(), cfg.outChannels());
    }

    /** The whole model: embed, every block, final layer. */
    public Tensor forward(Tensor x, float[] t, int[] labels) {
        Conditioning c = condition(t, labels);
        Tensor h = embed(x);
        return finalLayer(blocks(0, depth(), h, c), c);
    }
}
