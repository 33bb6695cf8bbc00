package org.deltadit.dit;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.ConfigFields;

/**
 * The AutoencoderKL decoder (diffusers layout, model-formats.md §3): z / scaling → post_quant_conv →
 * conv_in → mid block (ResNet, single-head attention, ResNet) → up blocks (ResNets, nearest ×2 and a
 * 3×3 conv, lowest resolution first) → GroupNorm, SiLU, conv_out. GroupNorm eps is 1e-6 throughout.
 * Images are decoded one at a time so activations stay bounded.
 */
public final class VaeDecoder {
    /** The config fields that shape the decoder; {@link #SD} is sd-vae-ft-ema's. */
    public record Config(int[] blockOut, int layersPerBlock, int groups, int latentChannels, int outChannels, double scalingFactor,
                         double shiftFactor, boolean postQuantConv) {
        public static final Config SD = new Config(new int[] {128, 256, 512, 512}, 2, 32, 4, 3, 0.18215, 0, true);

        /** Without a shift, with post_quant_conv (every KL VAE before SD3's). */
        public Config(int[] blockOut, int layersPerBlock, int groups, int latentChannels, int outChannels, double scalingFactor) {
            this(blockOut, layersPerBlock, groups, latentChannels, outChannels, scalingFactor, 0, true);
        }

        /** From a diffusers config.json (missing fields keep sd-vae-ft-ema's values); {@code src} names it in messages. */
        public static Config from(Map<String, Object> json, String src) {
            if (json == null) return SD;
            int[] blocks = ConfigFields.positiveList(src, json, "block_out_channels", SD.blockOut);
            int groups = ConfigFields.positive(src, json, "norm_num_groups", SD.groups);
            for (int b : blocks) {
                if (b % groups != 0) throw new CheckpointException(src + ": config block_out_channels " + b + " is not a multiple of norm_num_groups " + groups);
            }
            double scaling = ConfigFields.number(src, json, "scaling_factor", SD.scalingFactor);
            if (!(scaling > 0)) throw new CheckpointException(src + ": config field 'scaling_factor' is " + scaling + ", not a positive number");
            int out = ConfigFields.positive(src, json, "out_channels", SD.outChannels);
            if (out != 1 && out != 3) throw new CheckpointException(src + ": config field 'out_channels' is " + out + ", not 1 or 3 (grey or RGB)");
            double shift = json.get("shift_factor") == null ? 0 : ConfigFields.number(src, json, "shift_factor", 0.0);
            boolean postQuant = !(json.get("use_post_quant_conv") instanceof Boolean b) || b; // SD3's VAE has none
            return new Config(blocks, ConfigFields.positive(src, json, "layers_per_block", SD.layersPerBlock), groups,
                    ConfigFields.positive(src, json, "latent_channels", SD.latentChannels), out, scaling, shift, postQuant);
        }

        /** Spatial upsampling factor: 2 per up block but the last. */
        public int factor() { return 1 << (blockOut.length - 1); }
    }

    private static final float EPS = 1e-6f;
    private final Config cfg;
    private final Map<String, Tensor> w;
    private final Backend be;

    public VaeDecoder(Config cfg, Map<String, Tensor> canonical, Backend backend, String source) {
        this.cfg = cfg;
        this.be = backend;
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : canonical.entrySet()) {
            Tensor t = e.getValue();
            // ldm-style checkpoints store the attention projections as 1×1 convolutions
            if (e.getKey().contains(".attentions.") && t.rank() == 4 && !e.getKey().contains("group_norm")) t = t.reshape(t.dim(0), t.dim(1));
            m.put(e.getKey(), t);
        }
        Map<String, int[]> want = expectedShapes(cfg);
        for (Map.Entry<String, int[]> e : want.entrySet()) {
            Tensor t = m.get(e.getKey());
            if (t == null) throw new CheckpointException(source + ": missing key '" + e.getKey() + "' for the VAE decoder");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new CheckpointException(source + ": '" + e.getKey() + "' is " + t.shapeString() + ", the VAE config needs " + Arrays.toString(e.getValue()));
            }
        }
        for (String k : m.keySet()) if (!want.containsKey(k)) throw new CheckpointException(source + ": unexpected key '" + k + "' for the VAE decoder");
        this.w = m;
    }

    public Config config() { return cfg; }

    /** Every decoder key with its shape, for this config. */
    static Map<String, int[]> expectedShapes(Config c) {
        Map<String, int[]> m = new LinkedHashMap<>();
        int lat = c.latentChannels, top = c.blockOut[c.blockOut.length - 1];
        if (c.postQuantConv()) conv(m, "post_quant_conv", lat, lat, 1);
        conv(m, "decoder.conv_in", top, lat, 3);
        resnet(m, "decoder.mid_block.resnets.0.", top, top);
        String a = "decoder.mid_block.attentions.0.";
        m.put(a + "group_norm.weight", new int[] {top});
        m.put(a + "group_norm.bias", new int[] {top});
        for (String n : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) {
            m.put(a + n + ".weight", new int[] {top, top});
            m.put(a + n + ".bias", new int[] {top});
        }
        resnet(m, "decoder.mid_block.resnets.1.", top, top);
        int cout = top;
        for (int i = 0; i < c.blockOut.length; i++) {
            int cin = cout;
            cout = c.blockOut[c.blockOut.length - 1 - i];
            for (int j = 0; j <= c.layersPerBlock; j++) resnet(m, "decoder.up_blocks." + i + ".resnets." + j + ".", j == 0 ? cin : cout, cout);
            if (i < c.blockOut.length - 1) conv(m, "decoder.up_blocks." + i + ".upsamplers.0.conv", cout, cout, 3);
        }
        m.put("decoder.conv_norm_out.weight", new int[] {c.blockOut[0]});
        m.put("decoder.conv_norm_out.bias", new int[] {c.blockOut[0]});
        conv(m, "decoder.conv_out", c.outChannels, c.blockOut[0], 3);
        return m;
    }

    private static void conv(Map<String, int[]> m, String p, int out, int in, int k) {
        m.put(p + ".weight", new int[] {out, in, k, k});
        m.put(p + ".bias", new int[] {out});
    }

    private static void resnet(Map<String, int[]> m, String p, int in, int out) {
        m.put(p + "norm1.weight", new int[] {in});
        m.put(p + "norm1.bias", new int[] {in});
        conv(m, p + "conv1", out, in, 3);
        m.put(p + "norm2.weight", new int[] {out});
        m.put(p + "norm2.bias", new int[] {out});
        conv(m, p + "conv2", out, out, 3);
        if (in != out) conv(m, p + "conv_shortcut", out, in, 1);
    }

    /** Latents [B, C, h, w] → images [B, 3, h·f, w·f], roughly in [−1, 1] (not clamped). */
    public Tensor decode(Tensor z) {
        if (z.rank() != 4 || z.dim(1) != cfg.latentChannels) {
            throw new IllegalArgumentException("VAE: latent " + z.shapeString() + " does not fit a decoder with " + cfg.latentChannels + " latent channels");
        }
        Tensor[] images = new Tensor[z.dim(0)];
        for (int b = 0; b < images.length; b++) images[b] = decodeOne(z.slice(0, b, b + 1));
        return Tensor.concat(0, images);
    }

    private Tensor decodeOne(Tensor z) {
        Tensor x = be.scale(z, (float) (1 / cfg.scalingFactor));
        if (cfg.shiftFactor != 0) x = be.add(x, Tensor.of(new float[] {(float) cfg.shiftFactor}, 1)); // SD3: z / scaling + shift
        if (cfg.postQuantConv) x = conv(x, "post_quant_conv", 0);
        x = conv(x, "decoder.conv_in", 1);
        x = resnet(x, "decoder.mid_block.resnets.0.");
        x = attention(x, "decoder.mid_block.attentions.0.");
        x = resnet(x, "decoder.mid_block.resnets.1.");
        for (int i = 0; i < cfg.blockOut.length; i++) {
            for (int j = 0; j <= cfg.layersPerBlock; j++) x = resnet(x, "decoder.up_blocks." + i + ".resnets." + j + ".");
            if (i < cfg.blockOut.length - 1) x = conv(be.upsampleNearest(x, 2), "decoder.up_blocks." + i + ".upsamplers.0.conv", 1);
        }
        x = be.silu(be.groupNorm(x, cfg.groups, w.get("decoder.conv_norm_out.weight"), w.get("decoder.conv_norm_out.bias"), EPS));
        return conv(x, "decoder.conv_out", 1);
    }

    private Tensor conv(Tensor x, String p, int pad) { return be.conv2d(x, w.get(p + ".weight"), w.get(p + ".bias"), 1, pad); }

    private Tensor resnet(Tensor x, String p) {
        Tensor h = conv(be.silu(be.groupNorm(x, cfg.groups, w.get(p + "norm1.weight"), w.get(p + "norm1.bias"), EPS)), p + "conv1", 1);
        h = conv(be.silu(be.groupNorm(h, cfg.groups, w.get(p + "norm2.weight"), w.get(p + "norm2.bias"), EPS)), p + "conv2", 1);
        Tensor skip = w.containsKey(p + "conv_shortcut.weight") ? conv(x, p + "conv_shortcut", 0) : x;
        return be.add(skip, h);
    }

    /** Single-head self-attention over the H·W positions, with a residual. */
    private Tensor attention(Tensor x, String p) {
        int c = x.dim(1), hh = x.dim(2), ww = x.dim(3);
        Tensor t = be.groupNorm(x, cfg.groups, w.get(p + "group_norm.weight"), w.get(p + "group_norm.bias"), EPS).reshape(1, c, hh * ww).transpose(1, 2);
        Tensor q = be.linear(t, w.get(p + "to_q.weight"), w.get(p + "to_q.bias")).unsqueeze(1);
        Tensor k = be.linear(t, w.get(p + "to_k.weight"), w.get(p + "to_k.bias")).unsqueeze(1);
        Tensor v = be.linear(t, w.get(p + "to_v.weight"), w.get(p + "to_v.bias")).unsqueeze(1);
        Tensor a = be.attention(q, k, v, null, (float) (1 / Math.sqrt(c))).select(1, 0);
        Tensor o = be.linear(a, w.get(p + "to_out.0.weight"), w.get(p + "to_out.0.bias"));
        return be.add(x, o.transpose(1, 2).reshape(1, c, hh, ww));
    }
}
