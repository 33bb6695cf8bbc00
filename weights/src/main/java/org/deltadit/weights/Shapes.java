package org.deltadit.weights;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deltadit.engine.Tensor;

/** The shape and config checks the architecture resolvers share; every failure names the key and both shapes. */
final class Shapes {
    private Shapes() {}

    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\..*");

    static Tensor need(String src, Map<String, Tensor> w, String key, int rank) {
        Tensor t = w.get(key);
        if (t == null) throw new CheckpointException(src + ": missing key '" + key + "'");
        if (t.rank() != rank) throw new CheckpointException(src + ": '" + key + "' has shape " + t.shapeString() + ", expected rank " + rank);
        return t;
    }

    /** 1 + the highest {@code blocks.N.} index (0 without blocks). */
    static int countBlocks(Map<String, Tensor> w) {
        TreeSet<Integer> ids = new TreeSet<>();
        for (String k : w.keySet()) {
            Matcher m = BLOCK.matcher(k);
            if (m.matches()) ids.add(Integer.parseInt(m.group(1)));
        }
        return ids.isEmpty() ? 0 : ids.last() + 1;
    }

    static Integer intField(String src, Map<String, Object> c, String key, Integer dflt) { return ConfigFields.integer(src, c, key, dflt); }

    static void check(String src, String field, int config, int shapes) {
        if (config != shapes) throw new CheckpointException(src + ": config " + field + " = " + config + " disagrees with the weights (" + shapes + ")");
    }

    /** A linear (or conv) layer: weight of the given shape and a bias of its first dimension. */
    static void linear(Map<String, int[]> m, String name, int[] weight) {
        m.put(name + ".weight", weight);
        m.put(name + ".bias", new int[] {weight[0]});
    }

    /** Every wanted key present with its shape, and no key beyond them and {@code optional}. */
    static void checkAll(String src, Map<String, Tensor> w, Map<String, int[]> want, String arch, String... optional) {
        for (Map.Entry<String, int[]> e : want.entrySet()) {
            Tensor t = w.get(e.getKey());
            if (t == null) throw new CheckpointException(src + ": missing key '" + e.getKey() + "' for " + arch);
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new CheckpointException(src + ": '" + e.getKey() + "' is " + t.shapeString() + ", " + arch + " needs " + Arrays.toString(e.getValue()));
            }
        }
        Set<String> extra = Set.of(optional);
        for (String k : w.keySet()) {
            if (!want.containsKey(k) && !extra.contains(k)) throw new CheckpointException(src + ": unexpected key '" + k + "' for " + arch);
        }
    }

    /** A key that may be absent, but has this shape when present. */
    static void optional(String src, Map<String, Tensor> w, String key, int[] shape) {
        Tensor t = w.get(key);
        if (t != null && !Arrays.equals(t.shape(), shape)) {
            throw new CheckpointException(src + ": '" + key + "' is " + t.shapeString() + ", expected " + Arrays.toString(shape));
        }
    }

    /** Output channels from final_layer.linear ([p·p·outC, D]): in or 2·in (learned σ), else a named error. */
    static int outChannels(String src, Map<String, Tensor> w, int in, int p) {
        Tensor fin = need(src, w, "final_layer.linear.weight", 2);
        int outC = fin.dim(0) / (p * p);
        if (fin.dim(0) != outC * p * p || (outC != in && outC != 2 * in)) {
            throw new CheckpointException(src + ": 'final_layer.linear.weight' " + fin.shapeString() + " gives neither " + in + " nor " + 2 * in + " output channels");
        }
        return outC;
    }
}
