package org.deltadit.eval;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;

/**
 * The demo model's evaluation network (trained by tools/train_demo.py), run by our engine: four 3×3
 * convolutions (two with stride 2 instead of pooling), SiLU, a 128-wide penultimate layer whose
 * activations are the FID features, and 10 logits. Input: digits [B, 1, 32, 32] in [−1, 1].
 */
public final class DigitClassifier {
    private final Map<String, Tensor> w;
    private final Backend be;

    public DigitClassifier(Map<String, Tensor> weights, Backend be) {
        for (String k : new String[] {"c1", "c2", "c3", "c4", "fc1", "fc2"}) {
            if (!weights.containsKey(k + ".weight") || !weights.containsKey(k + ".bias")) throw new CheckpointException("classifier: missing key '" + k + ".weight' or '.bias'");
        }
        this.w = Map.copyOf(weights);
        this.be = be;
    }

    public static DigitClassifier load(Path file, Backend be) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (StateDict sd = Safetensors.open(file)) {
            for (String k : sd.keys()) m.put(k, sd.tensor(k).to(DType.F32));
        }
        return new DigitClassifier(m, be);
    }

    /** The width of the features: fc1's outputs (128 for the demo model's network). */
    public int featureWidth() { return w.get("fc1.weight").dim(0); }

    /** Penultimate activations [B, 128]. */
    public Tensor features(Tensor digits) {
        Tensor h = be.silu(be.conv2d(digits, w.get("c1.weight"), w.get("c1.bias"), 1, 1));
        h = be.silu(be.conv2d(h, w.get("c2.weight"), w.get("c2.bias"), 2, 1));
        h = be.silu(be.conv2d(h, w.get("c3.weight"), w.get("c3.bias"), 1, 1));
        h = be.silu(be.conv2d(h, w.get("c4.weight"), w.get("c4.bias"), 2, 1));
        return be.silu(be.linear(h.reshape(h.dim(0), -1), w.get("fc1.weight"), w.get("fc1.bias")));
    }

    public Tensor logits(Tensor digits) { return head(features(digits)); }

    /** fc2: the logits from {@link #features}. */
    private Tensor head(Tensor features) { return be.linear(features, w.get("fc2.weight"), w.get("fc2.bias")); }

    /** The predicted class of each digit. */
    public int[] classify(Tensor digits) { return classifyFeatures(features(digits)); }

    /** The predicted classes from {@link #features} already taken, so a caller that needs both runs the network once. */
    public int[] classifyFeatures(Tensor features) {
        Tensor l = head(features);
        int[] out = new int[l.dim(0)];
        for (int i = 0; i < out.length; i++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < l.dim(1); c++) if (l.get(i, c) > best) { best = l.get(i, c); out[i] = c; }
        }
        return out;
    }
}
