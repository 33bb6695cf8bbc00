package org.deltadit.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.pipeline.Image;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.deltadit.weights.TorchCheckpoint;

/**
 * The Inception-v3 that FID and IS are computed with: the TF-ported network of the 2015-12-05 weights
 * ({@code pt_inception-2015-12-05-6726825d.pth}, as the PyTorch FID port publishes it), loaded by its
 * key names (Conv2d_1a_3x3 … Mixed_7c, fc). Every conv is conv + BatchNorm(eps 0.001) + ReLU, the norm
 * folded into the conv at load. Images in [0, 1] are resized bilinearly to 299×299 (align_corners off)
 * and scaled to [−1, 1]; the 2048 pooled features feed FID, the 1008 logits IS. Channel widths come from
 * the weights, so a network with every width scaled down (the tests') runs the same code.
 */
public final class InceptionV3 {
    private record Conv(Tensor w, Tensor b, int stride, int ph, int pw) {}

    private final Map<String, Conv> convs = new LinkedHashMap<>();
    private final Tensor fcW, fcB;
    private final Backend be;

    /** The convs with stride 2 or no padding; every other conv keeps its size (padding (kh−1)/2, (kw−1)/2). */
    private static final Set<String> VALID = Set.of("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_4a_3x3", "Mixed_6a.branch3x3",
            "Mixed_6a.branch3x3dbl_3", "Mixed_7a.branch3x3_2", "Mixed_7a.branch7x7x3_4");
    private static final Set<String> STRIDE_2 = Set.of("Conv2d_1a_3x3", "Mixed_6a.branch3x3", "Mixed_6a.branch3x3dbl_3",
            "Mixed_7a.branch3x3_2", "Mixed_7a.branch7x7x3_4");

    private InceptionV3(StateDict sd, Backend be) {
        this.be = be;
        for (String key : sd.keys()) {
            if (!key.endsWith(".conv.weight")) continue;
            String name = key.substring(0, key.length() - ".conv.weight".length());
            Tensor w = f32(sd, key);
            Tensor gamma = f32(sd, name + ".bn.weight"), beta = f32(sd, name + ".bn.bias"), mean = f32(sd, name + ".bn.running_mean"), var = f32(sd, name + ".bn.running_var");
            int cout = w.dim(0), per = (int) (w.numel() / cout);
            float[] wf = w.toFloatArray(), bias = new float[cout];
            for (int o = 0; o < cout; o++) {
                double s = gamma.get(o) / Math.sqrt(var.get(o) + 0.001);
                for (int i = 0; i < per; i++) wf[o * per + i] = (float) (wf[o * per + i] * s);
                bias[o] = (float) (beta.get(o) - mean.get(o) * s);
            }
            boolean valid = VALID.contains(name);
            convs.put(name, new Conv(Tensor.of(wf, w.shape()), Tensor.of(bias, cout), STRIDE_2.contains(name) ? 2 : 1,
                    valid ? 0 : (w.dim(2) - 1) / 2, valid ? 0 : (w.dim(3) - 1) / 2));
        }
        for (String need : List.of("Conv2d_1a_3x3", "Conv2d_4a_3x3", "Mixed_5b.branch_pool", "Mixed_6e.branch7x7dbl_5", "Mixed_7c.branch3x3dbl_3b")) {
            if (!convs.containsKey(need)) throw new CheckpointException(sd.source() + ": not the FID Inception-v3 (pt_inception-2015-12-05): no key '" + need + ".conv.weight'");
        }
        if (!sd.has("fc.weight") || !sd.has("fc.bias")) throw new CheckpointException(sd.source() + ": not the FID Inception-v3: no 'fc.weight' / 'fc.bias' (the 1008-way classifier)");
        fcW = f32(sd, "fc.weight");
        fcB = f32(sd, "fc.bias");
        if (convs.get("Conv2d_1a_3x3").w().dim(1) != 3) throw new CheckpointException(sd.source() + ": Conv2d_1a_3x3 takes " + convs.get("Conv2d_1a_3x3").w().dim(1) + " channels, not RGB");
    }

    private static Tensor f32(StateDict sd, String key) {
        if (!sd.has(key)) throw new CheckpointException(sd.source() + ": not the FID Inception-v3 (pt_inception-2015-12-05): no key '" + key + "'");
        return sd.tensor(key).to(DType.F32);
    }

    /** Loads the network from a PyTorch .pth (the published file) or a safetensors file with the same keys. */
    public static InceptionV3 load(Path file, Backend be) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--fid-weights: " + file + ": no such file");
        try (StateDict sd = file.toString().endsWith(".safetensors") ? Safetensors.open(file) : TorchCheckpoint.open(file, null)) {
            return new InceptionV3(sd, be);
        }
    }

    /** The width of the pooled features (2048 for the published weights). */
    public int featureWidth() { return fcW.dim(1); }

    /** The number of classes of the logits (1008). */
    public int classes() { return fcW.dim(0); }

    /** What one pass computes: pooled features [B, 2048], logits [B, 1008], and (when asked for) block outputs by lower-case name. */
    public record Output(Tensor pool, Tensor logits, Map<String, Tensor> blocks) {}

    /** Runs images [B, 3, H, W] with values in [0, 1]. */
    public Output run(Tensor images, boolean keepBlocks) {
        if (images.rank() != 4 || images.dim(1) != 3) throw new IllegalArgumentException("Inception: images " + images.shapeString() + " (needs [B, 3, H, W])");
        Map<String, Tensor> blocks = new LinkedHashMap<>();
        Tensor x = FeatureMaps.affine(FeatureMaps.resizeBilinear(images.to(DType.F32), 299, 299), 2, -1); // [0, 1] → [−1, 1]
        x = conv("Conv2d_2b_3x3", conv("Conv2d_2a_3x3", conv("Conv2d_1a_3x3", x)));
        x = FeatureMaps.maxPool(x, 3, 2, 0);
        x = FeatureMaps.maxPool(conv("Conv2d_4a_3x3", conv("Conv2d_3b_1x1", x)), 3, 2, 0);
        keep(blocks, keepBlocks, "stem", x);
        for (String m : List.of("Mixed_5b", "Mixed_5c", "Mixed_5d")) keep(blocks, keepBlocks, m.toLowerCase(), x = blockA(m, x));
        keep(blocks, keepBlocks, "mixed_6a", x = blockB("Mixed_6a", x));
        for (String m : List.of("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e")) keep(blocks, keepBlocks, m.toLowerCase(), x = blockC(m, x));
        keep(blocks, keepBlocks, "mixed_7a", x = blockD("Mixed_7a", x));
        keep(blocks, keepBlocks, "mixed_7b", x = blockE("Mixed_7b", x, false));
        keep(blocks, keepBlocks, "mixed_7c", x = blockE("Mixed_7c", x, true));
        Tensor pool = FeatureMaps.spatialMean(x);
        return new Output(pool, be.linear(pool, fcW, fcB), blocks);
    }

    private static void keep(Map<String, Tensor> blocks, boolean keep, String name, Tensor x) { if (keep) blocks.put(name, x); }

    private Tensor conv(String name, Tensor x) {
        Conv c = convs.get(name);
        if (c == null) throw new CheckpointException("Inception: no key '" + name + ".conv.weight'");
        Tensor y = c.ph() == c.pw() ? be.conv2d(x, c.w(), c.b(), c.stride(), c.ph()) : be.conv2d(FeatureMaps.pad(x, c.ph(), c.pw()), c.w(), c.b(), c.stride(), 0);
        return FeatureMaps.relu(y);
    }

    private Tensor chain(String block, Tensor x, String... names) {
        for (String n : names) x = conv(block + "." + n, x);
        return x;
    }

    /** 35×35: 1×1, 5×5, double 3×3 and an average-pool branch. */
    private Tensor blockA(String m, Tensor x) {
        return Tensor.concat(1, conv(m + ".branch1x1", x), chain(m, x, "branch5x5_1", "branch5x5_2"),
                chain(m, x, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"), conv(m + ".branch_pool", FeatureMaps.avgPool(x, 3, 1, 1)));
    }

    /** 35 → 17: strided 3×3, strided double 3×3, max pool. */
    private Tensor blockB(String m, Tensor x) {
        return Tensor.concat(1, conv(m + ".branch3x3", x), chain(m, x, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"), FeatureMaps.maxPool(x, 3, 2, 0));
    }

    /** 17×17: factorised 7×7 convolutions. */
    private Tensor blockC(String m, Tensor x) {
        return Tensor.concat(1, conv(m + ".branch1x1", x), chain(m, x, "branch7x7_1", "branch7x7_2", "branch7x7_3"),
                chain(m, x, "branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"),
                conv(m + ".branch_pool", FeatureMaps.avgPool(x, 3, 1, 1)));
    }

    /** 17 → 8: strided 3×3 after 1×1, strided 3×3 after 7×7, max pool. */
    private Tensor blockD(String m, Tensor x) {
        return Tensor.concat(1, chain(m, x, "branch3x3_1", "branch3x3_2"), chain(m, x, "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"),
                FeatureMaps.maxPool(x, 3, 2, 0));
    }

    /** 8×8: split 1×3 / 3×1 branches; the last block pools by max (the FID network's Mixed_7c), the one before by average. */
    private Tensor blockE(String m, Tensor x, boolean maxPool) {
        Tensor b3 = conv(m + ".branch3x3_1", x);
        Tensor d = chain(m, x, "branch3x3dbl_1", "branch3x3dbl_2");
        Tensor pool = maxPool ? FeatureMaps.maxPool(x, 3, 1, 1) : FeatureMaps.avgPool(x, 3, 1, 1);
        return Tensor.concat(1, conv(m + ".branch1x1", x), conv(m + ".branch3x3_2a", b3), conv(m + ".branch3x3_2b", b3),
                conv(m + ".branch3x3dbl_3a", d), conv(m + ".branch3x3dbl_3b", d), conv(m + ".branch_pool", pool));
    }

    /** 8-bit images as [B, 3, H, W] in [0, 1] (grey images repeated over RGB), as FID code reads PNGs. */
    public static Tensor fromImages(List<Image> images) {
        Image first = images.get(0);
        int h = first.height(), w = first.width();
        float[] v = new float[images.size() * 3 * h * w];
        for (int i = 0; i < images.size(); i++) {
            Image im = images.get(i);
            if (im.width() != w || im.height() != h) throw new IllegalArgumentException("Inception: images of different sizes");
            for (int c = 0; c < 3; c++) {
                int k = Math.min(c, im.channels() - 1);
                for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) v[((i * 3 + c) * h + y) * w + x] = im.sample(x, y, k) / 255f;
            }
        }
        return Tensor.of(v, images.size(), 3, h, w);
    }
}
