package org.deltadit.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The images of a generate job and how they are split. Image i has class {@code classes[i mod |classes|]}
 * (or prompt {@code prompts[i mod |prompts|]}; with neither, a class drawn from the seed) and the noise
 * (seed, i) — exactly image i of {@code dit generate} with the same classes, count and seed.
 */
record Work(List<Integer> classes, List<String> prompts, int count) implements Serializable {

    Work {
        if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
        if (classes != null && prompts != null) throw new IllegalArgumentException("--class and --prompts exclude each other: class labels are for DiT, prompts for PixArt-α");
        // as dit generate: a list longer than the count would drop its tail without a word
        if (classes != null && count < classes.size()) throw new IllegalArgumentException("--count: " + count + " is fewer than the " + classes.size() + " classes listed");
        if (prompts != null && count < prompts.size()) throw new IllegalArgumentException("--count: " + count + " is fewer than the " + prompts.size() + " prompts given");
        classes = classes == null ? null : List.copyOf(classes);
        prompts = prompts == null ? null : List.copyOf(prompts);
    }

    /** A contiguous range of images, the unit of one task. */
    record Part(int index, int from, int to) implements Serializable {
        int size() { return to - from; }
    }

    /** The class list of "0-9", "3,5,7" or "0-4,7". */
    static List<Integer> parseClasses(String spec) {
        List<Integer> out = new ArrayList<>();
        for (String raw : spec.split(",")) {
            String s = raw.trim();
            try {
                int dash = s.indexOf('-', 1);
                int a = Integer.parseInt(dash < 0 ? s : s.substring(0, dash)), b = dash < 0 ? a : Integer.parseInt(s.substring(dash + 1));
                if (a < 0 || b < a) throw new NumberFormatException();
                for (int y = a; y <= b; y++) out.add(y);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--class: '" + s + "' (class labels N, lists N,M and ranges A-B with 0 ≤ A ≤ B)");
            }
        }
        return out;
    }

    /** Image i's class (null: drawn from the seed, or a prompt model). */
    Integer classOf(int i) { return classes == null ? null : classes.get(i % classes.size()); }

    String promptOf(int i) { return prompts == null ? null : prompts.get(i % prompts.size()); }

    /** {@code parts} contiguous ranges of near-equal size (never more parts than images). */
    List<Part> split(int parts) {
        int p = Math.max(1, Math.min(parts, count));
        List<Part> out = new ArrayList<>();
        for (int k = 0; k < p; k++) out.add(new Part(k, (int) ((long) count * k / p), (int) ((long) count * (k + 1) / p)));
        return out;
    }
}
