package org.deltadit.dit;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * Stable Diffusion 1.x's U-Net (UNet2DConditionModel, diffusers names; paper App. G): conv_in; down blocks
 * of ResNet (+ spatial transformer) pairs with a stride-2 conv between levels, every output kept for the
 * skips; a mid block; up blocks of layers + 1 ResNets over [h, skip] with a nearest ×2 + conv between
 * levels; GroupNorm, SiLU, conv_out. ResNets add a projection of SiLU(time embedding); a spatial transformer
 * is GroupNorm (eps 1e-6), 1×1 proj_in, one block (self-attention, cross-attention to the text states,
 * GEGLU feed-forward, each after a LayerNorm), 1×1 proj_out, plus its input.
 */
public final class UNetModel {
    /** The architecture: widths per level, ResNets per level, GroupNorm groups, attention heads, which levels attend. */
    public record Config(int[] blockOut, int layersPerBlock, int groups, int heads, boolean[] downAttends, boolean[] upAttends, int inChannels, int outChannels, int sampleSize) {}

    private final Config cfg;
    private final Map<String, Tensor> w;
    private final Backend be;

    public UNetModel(Config cfg, Map<String, Tensor> canonical, Backend be) {
        this.cfg = cfg;
        this.w = Map.copyOf(canonical);
        this.be = be;
    }

    public Config config() { return cfg; }

    /** The time embedding [B, 4·blockOut[0]] of timesteps t. */
    public Tensor timeEmbedding(float[] t) {
        Tensor s = Embeddings.timestep(t, cfg.blockOut()[0], 0);
        return Layers.linear(be, w, "time_embedding.linear_2", be.silu(Layers.linear(be, w, "time_embedding.linear_1", s)));
    }

    /** What a forward pass gives: the output and, when traced, each level's last state. */
    public Tensor forward(Tensor x, float[] t, Tensor text, Map<String, Tensor> trace) {
        Tensor temb = be.silu(timeEmbedding(t)); // only ever used through SiLU
        Tensor h = conv(x, "conv_in", 1, 1);
        Deque<Tensor> skips = new ArrayDeque<>();
        skips.push(h);
        int levels = cfg.blockOut().length;
        for (int i = 0; i < levels; i++) {
            String p = "down_blocks." + i + ".";
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                h = resnet(h, p + "resnets." + j + ".", temb);
                if (cfg.downAttends()[i]) h = transformer(h, p + "attentions." + j + ".", text);
                skips.push(h);
            }
            if (i < levels - 1) {
                h = conv(h, p + "downsamplers.0.conv", 2, 1);
                skips.push(h);
            }
            if (trace != null) trace.put("down" + i, h);
        }
        h = resnet(h, "mid_block.resnets.0.", temb);
        h = transformer(h, "mid_block.attentions.0.", text);
        h = resnet(h, "mid_block.resnets.1.", temb);
        if (trace != null) trace.put("mid", h);
        for (int i = 0; i < levels; i++) {
            String p = "up_blocks." + i + ".";
            for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                h = resnet(Tensor.concat(1, h, skips.pop()), p + "resnets." + j + ".", temb);
                if (cfg.upAttends()[i]) h = transformer(h, p + "attentions." + j + ".", text);
            }
            if (i < levels - 1) h = conv(be.upsampleNearest(h, 2), p + "upsamplers.0.conv", 1, 1);
            if (trace != null) trace.put("up" + i, h);
        }
        h = be.silu(be.groupNorm(h, cfg.groups(), w.get("conv_norm_out.weight"), w.get("conv_norm_out.bias"), 1e-5f));
        return conv(h, "conv_out", 1, 1);
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

    /** From a diffusers UNet2DConditionModel config.json's fields (the down/up block types say which levels attend). */
    public static Config config(Map<String, Object> c, String src) {
        int[] blocks = org.deltadit.weights.ConfigFields.positiveList(src, c, "block_out_channels", new int[] {320, 640, 1280, 1280});
        List<?> down = c.get("down_block_types") instanceof List<?> l ? l : List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D");
        List<?> up = c.get("up_block_types") instanceof List<?> l ? l : List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D");
        if (down.size() != blocks.length || up.size() != blocks.length) {
            throw new org.deltadit.weights.CheckpointException(src + ": " + blocks.length + " block widths for " + down.size() + " down and " + up.size() + " up blocks");
        }
        boolean[] da = new boolean[blocks.length], ua = new boolean[blocks.length];
        for (int i = 0; i < blocks.length; i++) {
            da[i] = String.valueOf(down.get(i)).startsWith("CrossAttn");
            ua[i] = String.valueOf(up.get(i)).startsWith("CrossAttn");
        }
        // diffusers' attention_head_dim is, for SD 1.x, the number of heads (its historical naming)
        int heads = org.deltadit.weights.ConfigFields.positive(src, c, "attention_head_dim", 8);
        return new Config(blocks, org.deltadit.weights.ConfigFields.positive(src, c, "layers_per_block", 2), org.deltadit.weights.ConfigFields.positive(src, c, "norm_num_groups", 32),
                heads, da, ua, org.deltadit.weights.ConfigFields.positive(src, c, "in_channels", 4), org.deltadit.weights.ConfigFields.positive(src, c, "out_channels", 4),
                org.deltadit.weights.ConfigFields.positive(src, c, "sample_size", 64));
    }
}
