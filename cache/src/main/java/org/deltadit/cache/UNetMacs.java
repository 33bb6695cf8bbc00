package org.deltadit.cache;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.weights.UNetConfig;

/**
 * An SD 1.x U-Net's MACs in the paper's convention (every conv and linear; attention products, norms and
 * elementwise ops out), layer by layer in execution order — time embedding and conv_in, each down level's
 * (ResNet, transformer) pairs and its stride-2 conv, the mid block, each up level's pairs and its upsampling
 * conv, conv_out — so that a cached span [from, to) of that order costs what it leaves out (paper App. G):
 * Δ-Cache over a span whose input and output share a shape, or DeepCache's skip of the deep branch.
 */
public final class UNetMacs {
    private UNetMacs() {}

    /** One step of the execution order: its name, MACs for one sample, and its output's channels and side. */
    public record Layer(String name, long macs, int channels, int side) {}

    /** The layers of one forward: conv_in (with the time embedding), the config's blocks in order, conv_out. */
    public static List<Layer> layers(UNetConfig c) {
        int latent = c.inputSize(), tokens = c.textTokens(), cross = c.crossDim();
        int[] b = c.blockOut();
        int levels = b.length, lpb = c.layersPerBlock(), temb = 4 * b[0], s = latent;
        List<Layer> out = new ArrayList<>();
        List<Integer> skips = new ArrayList<>();
        out.add(new Layer("conv_in + time", conv(s, c.inChannels(), b[0], 3) + (long) b[0] * temb + (long) temb * temb, b[0], s));
        skips.add(b[0]);
        int ch = b[0];
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < lpb; j++) {
                long m = resnet(s, ch, b[i], temb) + (c.downAttends()[i] ? transformer(s, b[i], tokens, cross) : 0);
                ch = b[i];
                out.add(new Layer("down" + i + ".l" + j, m, ch, s));
                skips.add(ch);
            }
            if (i < levels - 1) {
                s /= 2;
                out.add(new Layer("down" + i + ".down", conv(s, ch, ch, 3), ch, s));
                skips.add(ch);
            }
        }
        out.add(new Layer("mid", 2 * resnet(s, ch, ch, temb) + transformer(s, ch, tokens, cross), ch, s));
        int prev = ch;
        for (int i = 0; i < levels; i++) {
            int o = b[levels - 1 - i];
            for (int j = 0; j <= lpb; j++) {
                int skip = skips.remove(skips.size() - 1);
                long m = resnet(s, (j == 0 ? prev : o) + skip, o, temb) + (c.upAttends()[i] ? transformer(s, o, tokens, cross) : 0);
                out.add(new Layer("up" + i + ".l" + j, m, o, s));
            }
            prev = o;
            if (i < levels - 1) {
                s *= 2;
                out.add(new Layer("up" + i + ".up", conv(s, o, o, 3), o, s));
            }
        }
        out.add(new Layer("conv_out", conv(s, b[0], c.outChannels(), 3), c.outChannels(), s));
        return out;
    }

    /**
     * The blocks DeepCache skips for {@code branch} k (0-based skip of the first level), as a block range
     * [from, to) of {@link UNetConfig}'s order: from down0.l(k+1) through the last up level's l(L−2−k).
     */
    public static int[] deepCacheBlocks(UNetConfig c, int branch) {
        int[] span = deepCacheSpan(layers(c), c.layersPerBlock(), branch);
        return new int[] {span[0] - 1, span[1] - 1};
    }

    /** As {@link #deepCacheBlocks}, in layer indices (conv_in is layer 0). */
    static int[] deepCacheSpan(List<Layer> layers, int lpb, int branch) {
        if (branch < 0 || branch >= lpb) throw new org.deltadit.engine.InvalidParameter("branch", branch + " (0.." + (lpb - 1) + ": a skip of the first level)");
        int from = indexOf(layers, "down0.l" + (branch + 1));
        if (from < 0) from = indexOf(layers, "down0.down");
        String lastUp = "up" + (indexOf(layers, "up0.l0") < 0 ? 0 : countLevels(layers) - 1);
        int to = indexOf(layers, lastUp + ".l" + (lpb - 1 - branch));
        return new int[] {from, to};
    }

    /**
     * MACs of {@code steps} steps for one image with {@code branches} rows (2 with guidance): every
     * {@code interval}-th step (the first included) in full, the others without layers [from, to).
     */
    public static long run(List<Layer> layers, int steps, int branches, int interval, int from, int to) {
        long full = 0, span = 0;
        for (int i = 0; i < layers.size(); i++) {
            full += layers.get(i).macs();
            if (i >= from && i < to) span += layers.get(i).macs();
        }
        long total = 0;
        for (int s = 1; s <= steps; s++) total += (interval <= 1 || (s - 1) % interval == 0) ? full : full - span;
        return total * branches;
    }

    private static int countLevels(List<Layer> layers) {
        int n = 0;
        while (indexOf(layers, "up" + n + ".l0") >= 0) n++;
        return n;
    }

    private static int indexOf(List<Layer> layers, String name) {
        for (int i = 0; i < layers.size(); i++) if (layers.get(i).name().equals(name)) return i;
        return -1;
    }

    private static long conv(int side, int cin, int cout, int k) { return (long) side * side * cin * cout * k * k; }

    /** Two 3×3 convs, the time projection, and a 1×1 shortcut when the width changes. */
    private static long resnet(int side, int cin, int cout, int temb) {
        return conv(side, cin, cout, 3) + conv(side, cout, cout, 3) + (long) temb * cout + (cin != cout ? conv(side, cin, cout, 1) : 0);
    }

    /** proj_in/out, self-attention (q, k, v, out), cross-attention (q and out per pixel, k and v per text token), GEGLU. */
    private static long transformer(int side, int c, int tokens, int cross) {
        long n = (long) side * side, cc = (long) c * c;
        return 2 * n * cc + 4 * n * cc + 2 * n * cc + 2L * tokens * cross * c + n * 8 * cc + n * 4 * cc;
    }
}
