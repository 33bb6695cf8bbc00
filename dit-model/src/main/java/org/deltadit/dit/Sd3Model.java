package org.deltadit.dit;

import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Sd3Config;

/**
 * Stable Diffusion 3's MMDiT over diffusers' names (SD3Transformer2DModel). The hidden state a cache
 * sees is both streams at once — the image tokens followed by the text tokens, [B, N + M, D] — so a
 * cached Δ covers the text stream too (paper App. B). Each joint block: per-stream adaLN-Zero
 * (shift, scale, gate ×2 over a LayerNorm without affine, eps 1e-6), q/k/v per stream, one attention
 * over image then text tokens, gated output projections and GELU-tanh MLPs; the last block's text
 * stream (context_pre_only) is normalised by a continuous adaLN (scale, then shift), gives only keys
 * and values, and passes through unchanged. The output layer is a continuous adaLN, proj_out and
 * unpatchify in (p, q, c) order.
 */
public final class Sd3Model implements BlockStack<Sd3Model.Conditioning> {
    private final Sd3Config cfg;
    private final Map<String, Tensor> w;
    private final Backend be;
    private final Tensor positions; // [1, N, D]: the centre of the pos_embed_max_size² table

    /** Per step: SiLU of the combined timestep and pooled-text embedding [B, D], and the projected context [B, M, D]. */
    public record Conditioning(Tensor siluTemb, Tensor context) {}

    public Sd3Model(Sd3Config cfg, Map<String, Tensor> canonical, Backend be) {
        this.cfg = cfg;
        this.w = Map.copyOf(canonical);
        this.be = be;
        int g = cfg.inputSize() / cfg.patchSize(), max = cfg.posEmbedMaxSize(), d = cfg.hiddenSize();
        Tensor table = w.containsKey("pos_embed.pos_embed") ? w.get("pos_embed.pos_embed")
                : Embeddings.sincos2d(d, max, max, cfg.inputSize() / (double) cfg.patchSize(), cfg.inputSize() / (double) cfg.patchSize(), 1);
        if (table.numel() != (long) max * max * d) throw new IllegalArgumentException("SD3: pos_embed holds " + table.numel() + " values, not " + max + "² × " + d);
        int top = (max - g) / 2, left = (max - g) / 2;
        this.positions = table.reshape(1, max, max, d).slice(1, top, top + g).slice(2, left, left + g).contiguous().reshape(1, g * g, d);
    }

    public Sd3Config config() { return cfg; }

    @Override
    public int depth() { return cfg.depth(); }

    @Override
    public Backend backend() { return be; }

    /** Timesteps t (σ·1000) [B], pooled text [B, pooledDim] and context [B, M, jointAttentionDim] → the step's conditioning. */
    public Conditioning condition(float[] t, Tensor pooled, Tensor context) {
        if (pooled.rank() != 2 || pooled.dim(0) != t.length || pooled.dim(1) != cfg.pooledDim()) {
            throw new IllegalArgumentException("SD3: pooled text " + pooled.shapeString() + " (needs [" + t.length + ", " + cfg.pooledDim() + "])");
        }
        if (context.rank() != 3 || context.dim(0) != t.length || context.dim(2) != cfg.jointAttentionDim()) {
            throw new IllegalArgumentException("SD3: context " + context.shapeString() + " (needs [" + t.length + ", M, " + cfg.jointAttentionDim() + "])");
        }
        Tensor temb = be.add(mlp("time_text_embed.timestep_embedder", Embeddings.timestep(t, 256, 0)), mlp("time_text_embed.text_embedder", pooled));
        return new Conditioning(be.silu(temb), Layers.linear(be, w, "context_embedder", context));
    }

    private Tensor mlp(String name, Tensor x) {
        return Layers.linear(be, w, name + ".linear_2", be.silu(Layers.linear(be, w, name + ".linear_1", x)));
    }

    /** SD3 embeds the latent together with the step's context: use {@link #embed(Tensor, Conditioning)}. */
    @Override
    public Tensor embed(Tensor x) { throw new UnsupportedOperationException("SD3: the hidden state holds the context too: embed(x, conditioning)"); }

    /** Latent [B, C, H, W] → [B, N + M, D]: patch tokens with their positions, then the projected context. */
    @Override
    public Tensor embed(Tensor x, Conditioning c) {
        int size = cfg.inputSize();
        if (x.rank() != 4 || x.dim(1) != cfg.inChannels() || x.dim(2) != size || x.dim(3) != size) {
            throw new IllegalArgumentException("SD3: input " + x.shapeString() + " does not fit the model (needs [B, " + cfg.inChannels() + ", " + size + ", " + size + "])");
        }
        Tensor p = be.conv2d(x, w.get("pos_embed.proj.weight"), w.get("pos_embed.proj.bias"), cfg.patchSize(), 0);
        Tensor tokens = be.add(p.reshape(x.dim(0), cfg.hiddenSize(), -1).transpose(1, 2).contiguous(), positions);
        return Tensor.concat(1, tokens, c.context());
    }

    @Override
    public Tensor block(int i, Tensor h, Conditioning c) {
        int n = cfg.tokens(), m = h.dim(1) - n, b = h.dim(0), d = cfg.hiddenSize(), heads = cfg.numHeads(), dh = d / heads;
        String p = "transformer_blocks." + i + ".";
        boolean last = !w.containsKey(p + "attn.to_add_out.weight");
        Tensor x = h.slice(1, 0, n).contiguous(), ctx = h.slice(1, n, n + m).contiguous();
        Tensor[] mx = Layers.linear(be, w, p + "norm1.linear", c.siluTemb()).unsqueeze(1).chunk(2, 6);
        Tensor nx = Layers.modulate(be, be.layerNorm(x, null, null, 1e-6f), mx[0], mx[1]);
        Tensor[] mc = Layers.linear(be, w, p + "norm1_context.linear", c.siluTemb()).unsqueeze(1).chunk(2, last ? 2 : 6);
        // the continuous adaLN of a text stream that only feeds attention: scale first, then shift
        Tensor nc = last ? Layers.modulate(be, be.layerNorm(ctx, null, null, 1e-6f), mc[1], mc[0]) : Layers.modulate(be, be.layerNorm(ctx, null, null, 1e-6f), mc[0], mc[1]);
        Tensor q = Tensor.concat(1, Layers.linear(be, w, p + "attn.to_q", nx), Layers.linear(be, w, p + "attn.add_q_proj", nc));
        Tensor k = Tensor.concat(1, Layers.linear(be, w, p + "attn.to_k", nx), Layers.linear(be, w, p + "attn.add_k_proj", nc));
        Tensor v = Tensor.concat(1, Layers.linear(be, w, p + "attn.to_v", nx), Layers.linear(be, w, p + "attn.add_v_proj", nc));
        Tensor att = Tensor.zeros(b, n + m, heads, dh);
        be.attention(heads(q, heads, dh), heads(k, heads, dh), heads(v, heads, dh), null, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        Tensor a = att.reshape(b, n + m, d);
        x = be.add(x, be.mul(mx[2], Layers.linear(be, w, p + "attn.to_out.0", a.slice(1, 0, n).contiguous())));
        x = be.add(x, be.mul(mx[5], ff(p + "ff", Layers.modulate(be, be.layerNorm(x, null, null, 1e-6f), mx[3], mx[4]))));
        if (!last) {
            ctx = be.add(ctx, be.mul(mc[2], Layers.linear(be, w, p + "attn.to_add_out", a.slice(1, n, n + m).contiguous())));
            ctx = be.add(ctx, be.mul(mc[5], ff(p + "ff_context", Layers.modulate(be, be.layerNorm(ctx, null, null, 1e-6f), mc[3], mc[4]))));
        }
        return Tensor.concat(1, x, ctx);
    }

    private static Tensor heads(Tensor t, int heads, int dh) { return t.reshape(t.dim(0), t.dim(1), heads, dh).permute(0, 2, 1, 3); }

    /** net.2(GELU-tanh(net.0.proj(x))). */
    private Tensor ff(String name, Tensor x) {
        return Layers.linear(be, w, name + ".net.2", be.gelu(Layers.linear(be, w, name + ".net.0.proj", x), true));
    }

    /** The image tokens of [B, N + M, D] → the model's output [B, outC, H, W] (the velocity). */
    @Override
    public Tensor finalLayer(Tensor h, Conditioning c) {
        int g = cfg.inputSize() / cfg.patchSize();
        Tensor x = h.slice(1, 0, cfg.tokens()).contiguous();
        Tensor[] m = Layers.linear(be, w, "norm_out.linear", c.siluTemb()).unsqueeze(1).chunk(2, 2);
        Tensor o = Layers.linear(be, w, "proj_out", Layers.modulate(be, be.layerNorm(x, null, null, 1e-6f), m[1], m[0]));
        return Layers.unpatchify(o, g, g, cfg.patchSize(), cfg.outChannels());
    }

    /** The whole model once. */
    public Tensor forward(Tensor x, float[] t, Tensor pooled, Tensor context) {
        Conditioning c = condition(t, pooled, context);
        Tensor h = embed(x, c);
        for (int i = 0; i < depth(); i++) h = block(i, h, c);
        return finalLayer(h, c);
    }
}
