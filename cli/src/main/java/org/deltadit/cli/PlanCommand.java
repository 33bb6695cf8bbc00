package org.deltadit.cli;

import org.deltadit.pipeline.PlanJson;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.Plan;
import org.deltadit.cache.StepPlan;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Spacing;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit plan}: which blocks run at each step, the MACs and the speedup, without running anything. */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Print the per-step cache plan, MACs (paper convention) and speedup; needs no weights with --arch.")
final class PlanCommand implements Callable<Integer> {
    @Option(names = "--arch", description = "DiT-XL/2, DiT-L/4, DiT-B/8, DiT-S/2, …, PixArt-XL/2 (256, 512 or 1024 px), SD3-medium (1024 px) or SD1.5 (512 px)")
    String arch;
    @Option(names = "--model", description = "read the architecture from a checkpoint instead")
    Path model;
    @Option(names = "--heads", description = "attention heads, for a checkpoint without a config")
    Integer heads;
    @Option(names = "--image-size", description = "pixels (default: 256 for DiT presets, 1024 for PixArt, the model's own with --model)")
    Integer imageSize;
    @Option(names = "--steps", defaultValue = "20", description = "sampling steps (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--sampler", defaultValue = "dpm-solver++", description = "for the timesteps shown (default: ${DEFAULT-VALUE})")
    String sampler;
    @Option(names = "--spacing", description = "timestep spacing (default as for generate)")
    String spacing;
    @Option(names = "--cfg", defaultValue = "4.0", description = "guidance scale; above 1 doubles the batch (default: ${DEFAULT-VALUE})")
    double cfg;
    @Option(names = "--json", description = "one JSON line instead of the table")
    boolean json;
    @Mixin
    CacheOptions cache;

    /** SD 1.5's U-Net: its blocks are its layers in execution order; DeepCache or Δ-Cache skip a span of them on cached steps. */
    private Integer unet() {
        org.deltadit.weights.UNetConfig c = org.deltadit.weights.UNetConfig.sd15(imageSize != null ? imageSize : 512);
        var layers = org.deltadit.cache.UNetMacs.layers(c);
        int n = cache.interval != null ? cache.interval : 2, branches = cfg > 1 ? 2 : 1;
        int[] span;
        String what;
        switch (cache.cache.trim().toLowerCase(Locale.ROOT)) {
            case "none" -> { span = new int[] {0, 0}; n = 1; what = "none"; }
            case "deepcache" -> {
                span = org.deltadit.cache.UNetMacs.deepCacheBlocks(c, cache.branch != null ? cache.branch : 0);
                what = "DeepCache N=" + n + " branch " + (cache.branch != null ? cache.branch : 0);
            }
            case "delta-cache" -> {
                if (cache.range == null || !cache.range.matches("\\d+:\\d+")) throw new IllegalArgumentException("--unet-span: give I:J (blocks in execution order; see the table)");
                span = new int[] {Integer.parseInt(cache.range.split(":")[0]), Integer.parseInt(cache.range.split(":")[1])};
                try {
                    c.checkSpan(span[0], span[1]);
                } catch (org.deltadit.engine.InvalidParameter e) {
                    throw new IllegalArgumentException("--unet-span: " + e.problem());
                }
                what = "Δ-Cache N=" + n + " span " + cache.range;
            }
            default -> throw new IllegalArgumentException("--cache: " + cache.cache + " (SD1.5 takes none, deepcache or delta-cache)");
        }
        if (n < 1) throw new IllegalArgumentException("--interval: " + n + " (must be at least 1)");
        long full = Plan.uncachedMacs(c, steps, 1, branches);
        long macs = n == 1 ? full : Plan.of(new CachePolicy.DeltaCache(span[0], span[1], n), steps, c.depth()).macs(c, 1, branches);
        if (json) {
            System.out.printf(Locale.ROOT, "{\"arch\":\"SD1.5\",\"cache\":\"%s\",\"macs\":%d,\"macs_uncached\":%d,\"speedup\":%.4f,\"span\":[%d,%d]}%n", what, macs, full, full / (double) macs, span[0], span[1]);
            return 0;
        }
        System.out.printf(Locale.ROOT, "%s, %d px, %d steps, %s, cache: %s (attention products not counted)%n", c.archName(), c.inputSize() * 8, steps,
                branches == 2 ? "guidance (2 rows per image)" : "no guidance", what);
        System.out.printf("%5s  %-16s %10s %12s%n", "block", "layer", "shape", "GMACs");
        for (int i = 0; i < layers.size(); i++) {
            var l = layers.get(i);
            String idx = i == 0 || i == layers.size() - 1 ? "–" : String.valueOf(i - 1);
            boolean skipped = i - 1 >= span[0] && i - 1 < span[1];
            System.out.printf(Locale.ROOT, "%5s  %-16s %5d×%-4d %12.2f  %s%n", idx, l.name(), l.channels(), l.side(), l.macs() / 1e9, skipped ? "skipped on cached steps" : "");
        }
        System.out.printf(Locale.ROOT, "total: %s MACs; uncached %s MACs; speedup %.2f×%n", PlanJson.macs(macs), PlanJson.macs(full), full / (double) macs);
        return 0;
    }

    @Override
    public Integer call() {
        if (steps < 1) throw new IllegalArgumentException("--steps: " + steps + " (must be at least 1)");
        if (!(cfg >= 0 && cfg <= 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
        if ((arch == null) == (model == null)) throw new IllegalArgumentException("dit plan: give --arch or --model (one of them)");
        if (arch != null && arch.trim().equalsIgnoreCase("SD1.5")) return unet();
        ModelSpec spec = model != null ? ModelSpec.builder().model(model).heads(heads).imageSize(imageSize).build()
                : ModelSpec.builder().randomWeights(true).arch(arch).imageSize(imageSize).build();
        ModelConfig c = Pipeline.config(spec);
        int branches = cfg > 1 ? 2 : 1;
        CachePolicy policy = cache.spec().resolve(steps, c, branches);
        Plan plan = Plan.of(policy, steps, c.depth());
        Sampler s = Samplers.create(sampler, steps, spacing == null ? null : Spacing.parse(spacing), c instanceof DitConfig, 0, false);
        // SD3 samples by flow matching, which is not built yet: no timesteps to show rather than another sampler's
        float[] ts = c instanceof org.deltadit.weights.Sd3Config ? null : s.timesteps();
        long macs = plan.macs(c, 1, branches), full = Plan.uncachedMacs(c, steps, 1, branches), withAttention = plan.macsWithAttention(c, 1, branches);
        if (json) {
            System.out.println(PlanJson.plan(plan, ts, macs, withAttention, full));
            return 0;
        }
        System.out.printf(Locale.ROOT, "%s, %d×%d tokens, %s %d steps, %s, cache: %s%n", c.archName(), c.inputSize() / c.patchSize(), c.inputSize() / c.patchSize(), ts == null ? "flow matching" : s.name(), steps,
                branches == 2 ? "guidance (2 rows per image)" : "no guidance", policy.describe());
        System.out.printf("%4s %9s  %-13s %6s %12s%n", "step", "timestep", "plan", "blocks", "GMACs");
        for (StepPlan p : plan.steps()) {
            System.out.printf(Locale.ROOT, "%4d %9s  %-13s %6d %12.2f%n", p.step(), (ts == null ? "–" : PlanJson.num(ts[p.step() - 1])), p.label(), p.blocksRun(), plan.stepMacs(c, p, 1, branches) / 1e9);
        }
        System.out.printf(Locale.ROOT, "total: %s MACs (%s MACs with attention products); uncached %s MACs; speedup %.2f×; %d of %d steps cached%n",
                PlanJson.macs(macs), PlanJson.macs(withAttention), PlanJson.macs(full), full / (double) macs, plan.cachedSteps(), steps);
        return 0;
    }
}
