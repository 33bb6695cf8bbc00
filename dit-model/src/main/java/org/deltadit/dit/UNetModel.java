package org.deltadit.dit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.UNetConfig;

/**
 * Stable Diffusion 1.x's U-Net (UNet2DConditionModel, diffusers names; paper App. G): conv_in; down levels
 * of ResNet (+ spatial transformer) pairs with a stride-2 conv between levels, every output kept for the
 * skips; a mid block; up levels of layers + 1 ResNets over [h, skip] with a nearest ×2 + conv between
 * levels; GroupNorm, SiLU, conv_out. ResNets add a projection of SiLU(time embedding); a spatial transformer
 * is GroupNorm (eps 1e-6), 1×1 proj_in, one block (self-attention, cross-attention to the text states,
 * GEGLU feed-forward, each after a LayerNorm), 1×1 proj_out, plus its input.
 *
 * <p>As a {@link BlockStack} its blocks are its layers in execution order between conv_in and conv_out
 * (see {@link UNetConfig}); the skips travel in the step's conditioning, so a cache that skips a span whose
 * pushes and pops balance (DeepCache's, or any Δ-Cache span between equal shapes that
 * {@link UNetConfig#checkSpan} accepts) leaves them as a full pass would.
 */
public final class UNetModel implements BlockStack<UNetModel.Step> {
    private final UNetConfig cfg;
    private final Map<String, Tensor> w;
    private final Backend be;
    private final List<Op> ops = new ArrayList<>();

    /** One step of one batch: SiLU of the time embedding, the text states, and the skip stack the layers fill and empty. */
    public record Step(Tensor siluTemb, Tensor text, Deque<Tensor> skips) {}

    /** One layer: its name (as {@link UNetConfig#blocks()} names it) and what it does. */
    private record Op(String name, java.util.function.BiFunction<Tensor, Step, Tensor> run, int skipChange) {}

    public UNetModel(UNetConfig cfg, Map<String, Tensor> canonical, Backend be) {
        this.cfg = cfg;
        this.w = Map.copyOf(canonical);
        this.be = be;
        int levels = cfg.blockOut().length, lpb = cfg.layersPerBlock();
        for (int i = 0; i < levels; i++) {
            String p = "down_blocks." + i + ".";
            boolean attends = cfg.downAttends()[i];
            for (int j = 0; j < lpb; j++) {
                String r = p + "resnets." + j + ".", a = p + "attentions." + j + ".";
                ops.add(new Op("down" + i + ".l" + j, (h, s) -> push(s, attends ? transformer(resnet(h, r, s.siluTemb()), a, s.text()) : resnet(h, r, s.siluTemb())), 1));
            }
            if (i < levels - 1) ops.add(new Op("down" + i + ".down", (h, s) -> push(s, conv(h, p + "downsamplers.0.conv", 2, 1)), 1));
        }
        ops.add(new Op("mid", (h, s) -> resnet(transformer(resnet(h, "mid_block.resnets.0.", s.siluTemb()), "mid_block.attentions.0.", s.text()), "mid_block.resnets.1.", s.siluTemb()), 0));
        for (int i = 0; i < levels; i++) {
            String p = "up_blocks." + i + ".";
            boolean attends = cfg.upAttends()[i];
            for (int j = 0; j <= lpb; j++) {
                String r = p + "resnets." + j + ".", a = p + "attentions." + j + ".";
                ops.add(new Op("up" + i + ".l" + j, (h, s) -> {
                    Tensor x = resnet(Tensor.concat(1, h, s.skips().pop()), r, s.siluTemb());
                    return attends ? transformer(x, a, s.text()) : x;
                }, -1));
            }
            if (i < levels - 1) ops.add(new Op("up" + i + ".up", (h, s) -> conv(be.upsampleNearest(h, 2), p + "upsamplers.0.conv", 1, 1), 0));
        }
        List<UNetConfig.Block> order = cfg.blocks();
        for (int i = 0; i < ops.size(); i++) {
            if (i >= order.size() || !order.get(i).name().equals(ops.get(i).name())) throw new IllegalStateException("U-Net: layer " + i + " is " + ops.get(i).name() + ", the config's order says otherwise");
        }
    }

    private static Tensor push(Step s, Tensor h) {
        s.skips().push(h);
        return h;
    }

    public UNetConfig config() { return cfg; }

    @Override
    public int depth() { return ops.size(); }

    @Override
    public Backend backend() { return be; }

    /** The name of block i ("down0.l1", "mid", "up3.l2", …). */
    public String blockName(int i) { return ops.get(i).name(); }

    /** The time embedding [B, 4·blockOut[0]] of timesteps t. */
    public Tensor timeEmbedding(float[] t) {
        Tensor s = Embeddings.timestep(t, cfg.blockOut()[0], 0);
        return Layers.linear(be, w, "time_embedding.linear_2", be.silu(Layers.linear(be, w, "time_embedding.linear_1", s)));
    }

    /** A step's conditioning: timesteps [B] and text states [B, L, crossDim]; a fresh skip stack. */
    public Step condition(float[] t, Tensor text) {
        if (text.rank() != 3 || text.dim(0) != t.length || text.dim(2) != cfg.crossDim()) {
            throw new IllegalArgumentException("U-Net: text states " + text.shapeString() + " (needs [" + t.length + ", L, " + cfg.crossDim() + "])");
        }
        return new Step(be.silu(timeEmbedding(t)), text, new ArrayDeque<>());
    }

    @Override
    public Tensor embed(Tensor x) { throw new UnsupportedOperationException("U-Net: embed(x, step) keeps conv_in's output as a skip"); }

    @Override
    public Tensor embed(Tensor x, Step s) {
        if (x.rank() != 4 || x.dim(1) != cfg.inChannels() || x.dim(2) != cfg.inputSize() || x.dim(3) != cfg.inputSize()) {
            throw new IllegalArgumentException("U-Net: input " + x.shapeString() + " (needs [B, " + cfg.inChannels() + ", " + cfg.inputSize() + ", " + cfg.inputSize() + "])");
        }
        s.skips().clear();
        return push(s, conv(x, "conv_in", 1, 1));
    }

    @Override
    public Tensor block(int i, Tensor h, Step s) { return ops.get(i).run().apply(h, s); }

    @Override
    public Tensor finalLayer(Tensor h, Step s) {
        h = be.silu(be.groupNorm(h, cfg.groups(), w.get("conv_norm_out.weight"), w.get("conv_norm_out.bias"), 1e-5f));
        return conv(h, "conv_out", 1, 1);
    }

    /** The whole network once; {@code trace} (may be null) gets each level's last state ("down0", "mid", "up1", …). */
    public Tensor forward(Tensor x, float[] t, Tensor text, Map<String, Tensor> trace) {
        Step s = condition(t, text);
        Tensor h = embed(x, s);
        for (int i = 0; i < depth(); i++) {
            h = block(i, h, s);
            String n = blockName(i), next = i + 1 < depth() ? blockName(i + 1) : "";
            if (trace != null && !next.startsWith(n.substring(0, n.indexOf('.') < 0 ? n.length() : n.indexOf('.')))) trace.put(n.contains(".") ? n.substring(0, n.indexOf('.')) : n, h);
        }
        return finalLayer(h, s);
    }

    private Tensor conv(Tensor x, String name, int stride, int pad) {
        return be.conv2d(x, w.get(name + ".weight"), w.get(name + ".bias"), stride, pad);
    }

    /** GroupNorm, SiLU, conv; + the time projection; GroupNorm, SiLU, conv; + the (1×1-projected) input. */
    private Tensor resnet(Tensor x, String p, Tensor siluTemb) {
        Tensor h = conv(be.silu(be.groupNorm(x, cfg.groups(), w.get(p + "norm1.weight"), w.get(p + "norm1.bias"), 1e-5f)), p + "conv1", 1, 1);
        Tensor t = Layers.linear(be, w, p + "time_emb_proj", siluTemb);
        h = be.add(h, t.reshape(t.dim(0), t.dim(1), 1, 1));
        h = conv(be.silu(be.groupNorm(h, cfg.groups(), w.get(p + "norm2.weight"), w.get(p + "norm2.bias"), 1e-5f)), p + "conv2", 1, 1);
        Tensor skip = w.containsKey(p + "conv_shortcut.weight") ? conv(x, p + "conv_shortcut", 1, 0) : x;
        return be.add(skip, h);
    }

    private Tensor transformer(Tensor x, String p, Tensor text) {
        int b = x.dim(0), c = x.dim(1), hh = x.dim(2), ww = x.dim(3);
        Tensor t = conv(be.groupNorm(x, cfg.groups(), w.get(p + "norm.weight"), w.get(p + "norm.bias"), 1e-6f), p + "proj_in", 1, 0);
        t = t.reshape(b, c, hh * ww).transpose(1, 2).contiguous();
        String q = p + "transformer_blocks.0.";
        Tensor n = be.layerNorm(t, w.get(q + "norm1.weight"), w.get(q + "norm1.bias"), 1e-5f);
        t = be.add(t, attention(n, n, q + "attn1."));
        t = be.add(t, attention(be.layerNorm(t, w.get(q + "norm2.weight"), w.get(q + "norm2.bias"), 1e-5f), text, q + "attn2."));
        Tensor[] ag = Layers.linear(be, w, q + "ff.net.0.proj", be.layerNorm(t, w.get(q + "norm3.weight"), w.get(q + "norm3.bias"), 1e-5f)).chunk(2, 2);
        t = be.add(t, Layers.linear(be, w, q + "ff.net.2", be.mul(ag[0], be.gelu(ag[1].contiguous(), false))));
        Tensor out = conv(t.transpose(1, 2).contiguous().reshape(b, c, hh, ww), p + "proj_out", 1, 0);
        return be.add(out, x);
    }

    private Tensor attention(Tensor x, Tensor ctx, String p) {
        int b = x.dim(0), n = x.dim(1), d = x.dim(2), m = ctx.dim(1), heads = cfg.heads(), dh = d / heads;
        Tensor q = be.linear(x, w.get(p + "to_q.weight"), null).reshape(b, n, heads, dh).permute(0, 2, 1, 3);
        Tensor k = be.linear(ctx, w.get(p + "to_k.weight"), null).reshape(b, m, heads, dh).permute(0, 2, 1, 3);
        Tensor v = be.linear(ctx, w.get(p + "to_v.weight"), null).reshape(b, m, heads, dh).permute(0, 2, 1, 3);
        Tensor att = Tensor.zeros(b, n, heads, dh);
        be.attention(q, k, v, null, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        return Layers.linear(be, w, p + "to_out.0", att.reshape(b, n, d));
    }
}
