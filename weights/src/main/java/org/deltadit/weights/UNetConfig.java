package org.deltadit.weights;

import java.util.List;
import java.util.Map;

/**
 * Stable Diffusion 1.x's U-Net (UNet2DConditionModel) as the planner and the MAC count see it: its
 * "blocks" are its layers in execution order after conv_in — each down level's (ResNet, transformer)
 * pairs and stride-2 conv, the mid block, each up level's pairs and upsampling conv — so that a cache span
 * is a range of them. {@code heads} is diffusers' attention_head_dim, which for SD 1.x counts heads.
 */
public record UNetConfig(int[] blockOut, int layersPerBlock, int groups, int heads, boolean[] downAttends, boolean[] upAttends, int inChannels,
                         int outChannels, int inputSize, int crossDim, int textTokens, Map<String, String> sources) implements ModelConfig {

    public UNetConfig {
        if (blockOut.length < 2 || downAttends.length != blockOut.length || upAttends.length != blockOut.length) {
            throw new CheckpointException("U-Net: " + blockOut.length + " levels, " + downAttends.length + " down and " + upAttends.length + " up block types");
        }
        blockOut = blockOut.clone();
    }

    @Override public int patchSize() { return 1; }
    @Override public int hiddenSize() { return blockOut[0]; }
    @Override public int numHeads() { return heads; }
    @Override public int mlpHidden() { return 4 * blockOut[0]; }
    @Override public CheckpointFormat format() { return CheckpointFormat.UNET_DIFFUSERS; }

    /** Layers between conv_in and conv_out: levels × L pairs and L + 1 up pairs, a conv between levels each way, the mid block. */
    @Override
    public int depth() {
        int levels = blockOut.length;
        return levels * layersPerBlock + (levels - 1) + 1 + levels * (layersPerBlock + 1) + (levels - 1);
    }

    @Override
    public String archName() {
        return java.util.Arrays.equals(blockOut, new int[] {320, 640, 1280, 1280}) && layersPerBlock == 2 ? "SD1.5 U-Net" : "U-Net " + java.util.Arrays.toString(blockOut);
    }

    /** The same network at another latent side. */
    public UNetConfig withInputSize(int side) {
        return new UNetConfig(blockOut, layersPerBlock, groups, heads, downAttends, upAttends, inChannels, outChannels, side, crossDim, textTokens, sources);
    }

    /** SD 1.5 at {@code imagePixels} (512 native; multiples of 64): 320, 640, 1280, 1280; 2 ResNets a level; 8 heads; 77 × 768 text. */
    public static UNetConfig sd15(int imagePixels) {
        if (imagePixels % 64 != 0 || imagePixels < 64) throw new org.deltadit.engine.InvalidParameter("imageSize", imagePixels + " px: SD1.5 takes multiples of 64 (the VAE's 8 × three halvings)");
        return new UNetConfig(new int[] {320, 640, 1280, 1280}, 2, 32, 8, new boolean[] {true, true, true, false}, new boolean[] {false, true, true, true},
                4, 4, imagePixels / 8, 768, 77, Map.of("architecture", "--arch SD1.5 at " + imagePixels + " px"));
    }

    /** From a diffusers config.json (down/up block types say which levels attend) and the cross-attention width of the weights. */
    public static UNetConfig from(Map<String, Object> c, String src, int crossDim, Integer latent) {
        int[] blocks = ConfigFields.positiveList(src, c, "block_out_channels", new int[] {320, 640, 1280, 1280});
        List<?> down = c.get("down_block_types") instanceof List<?> l ? l : List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D");
        List<?> up = c.get("up_block_types") instanceof List<?> l ? l : List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D");
        if (down.size() != blocks.length || up.size() != blocks.length) {
            throw new CheckpointException(src + ": " + blocks.length + " block widths for " + down.size() + " down and " + up.size() + " up blocks");
        }
        boolean[] da = new boolean[blocks.length], ua = new boolean[blocks.length];
        for (int i = 0; i < blocks.length; i++) {
            da[i] = String.valueOf(down.get(i)).startsWith("CrossAttn");
            ua[i] = String.valueOf(up.get(i)).startsWith("CrossAttn");
        }
        int sample = latent != null ? latent : ConfigFields.positive(src, c, "sample_size", 64);
        if (sample % (1 << (blocks.length - 1)) != 0) throw new org.deltadit.engine.InvalidParameter("imageSize", "a latent of " + sample + " cells does not halve " + (blocks.length - 1) + " times");
        return new UNetConfig(blocks, ConfigFields.positive(src, c, "layers_per_block", 2), ConfigFields.positive(src, c, "norm_num_groups", 32),
                ConfigFields.positive(src, c, "attention_head_dim", 8), da, ua, ConfigFields.positive(src, c, "in_channels", 4), ConfigFields.positive(src, c, "out_channels", 4),
                sample, crossDim, 77, Map.of("architecture", src));
    }

    /** One block of the order: its name, the skips it pushes (+1) or pops (−1), and its output's channels and side. */
    public record Block(String name, int skipChange, int channels, int side) {}

    /** The blocks in execution order (conv_in and conv_out are outside). */
    public List<Block> blocks() {
        List<Block> out = new java.util.ArrayList<>();
        int levels = blockOut.length, side = inputSize;
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < layersPerBlock; j++) out.add(new Block("down" + i + ".l" + j, 1, blockOut[i], side));
            if (i < levels - 1) out.add(new Block("down" + i + ".down", 1, blockOut[i], side /= 2));
        }
        out.add(new Block("mid", 0, blockOut[levels - 1], side));
        for (int i = 0; i < levels; i++) {
            int o = blockOut[levels - 1 - i];
            for (int j = 0; j <= layersPerBlock; j++) out.add(new Block("up" + i + ".l" + j, -1, o, side));
            if (i < levels - 1) out.add(new Block("up" + i + ".up", 0, o, side *= 2));
        }
        return out;
    }

    /**
     * Checks that a cache may skip blocks [from, to): the span pushes as many skips as it pops and never pops
     * one pushed before it (so the layers after it find the skips a full pass leaves), and its input and
     * output have one shape (so Δ is defined). A bad span is an InvalidParameter naming {@code range}.
     */
    public void checkSpan(int from, int to) {
        List<Block> b = blocks();
        if (from < 0 || to > b.size() || from >= to) throw new org.deltadit.engine.InvalidParameter("range", from + ":" + to + " (0 ≤ I < J ≤ " + b.size() + ")");
        int balance = 0;
        for (int i = from; i < to; i++) {
            balance += b.get(i).skipChange();
            if (balance < 0) throw new org.deltadit.engine.InvalidParameter("range", from + ":" + to + " takes skips made before it (" + b.get(i).name() + ")");
        }
        if (balance != 0) throw new org.deltadit.engine.InvalidParameter("range", from + ":" + to + " leaves " + balance + " skips for the layers after it");
        int inC = from == 0 ? blockOut[0] : b.get(from - 1).channels(), inS = from == 0 ? inputSize : b.get(from - 1).side();
        Block out = b.get(to - 1);
        if (inC != out.channels() || inS != out.side()) {
            throw new org.deltadit.engine.InvalidParameter("range", from + ":" + to + " goes from " + inC + "×" + inS + "² to " + out.channels() + "×" + out.side() + "²: Δ needs equal shapes");
        }
    }
}
