package org.deltadit.pipeline;

import java.util.Locale;
import org.deltadit.cache.Plan;
import org.deltadit.cache.StepPlan;

/** The JSON of plans and MAC figures that `dit plan --json`, `dit generate --json` and `dit serve` share (written by hand: a few flat fields). */
public final class PlanJson {
    private PlanJson() {}

    public static String num(float t) { return t == Math.rint(t) ? String.valueOf((int) t) : String.format(Locale.ROOT, "%.3f", t); }

    /** "plan":[{step, timestep, mode, range, blocks}, …]; timestep null where no sampler gives one (SD3 until flow matching is built) */
    public static String planArray(Plan plan, float[] ts) {
        StringBuilder b = new StringBuilder("[");
        for (StepPlan p : plan.steps()) {
            b.append(p.step() > 1 ? "," : "").append(String.format(Locale.ROOT, "{\"step\":%d,\"timestep\":%s,\"mode\":\"%s\"", p.step(), ts == null ? "null" : num(ts[p.step() - 1]),
                    p.full() ? "full" : "cached"));
            if (!p.full()) b.append(",\"policy\":\"").append(p.mode().name().toLowerCase(Locale.ROOT)).append("\",\"range\":[").append(p.from()).append(',').append(p.to()).append(']');
            b.append(",\"blocks\":").append(p.blocksRun()).append('}');
        }
        return b.append(']').toString();
    }

    /** What `dit plan --json` prints. */
    public static String plan(Plan plan, float[] ts, long macs, long macsWithAttention, long fullMacs) {
        return String.format(Locale.ROOT, "{\"cache\":\"%s\",\"macs\":%d,\"macs_with_attention\":%d,\"macs_uncached\":%d,\"speedup\":%.4f,\"plan\":%s}",
                plan.policy().describe(), macs, macsWithAttention, fullMacs, fullMacs / (double) macs, planArray(plan, ts));
    }

    /** MACs with a unit that fits their size: "8.00 G", "4.579 T" (the demo model's 8 G printed as T was "0.000"). */
    public static String macs(long m) { return macs(m, " "); }

    /** As {@link #macs(long)} with {@code gap} between number and unit ("" for tables: "8.00G"). */
    public static String macs(long m, String gap) {
        if (m >= 1e12) return String.format(Locale.ROOT, "%.3f%sT", m / 1e12, gap);
        if (m >= 1e9) return String.format(Locale.ROOT, "%.2f%sG", m / 1e9, gap);
        if (m >= 1e6) return String.format(Locale.ROOT, "%.2f%sM", m / 1e6, gap);
        return String.format(Locale.ROOT, "%.2f%sk", m / 1e3, gap);
    }
}
