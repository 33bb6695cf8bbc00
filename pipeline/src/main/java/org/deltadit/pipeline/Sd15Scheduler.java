package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.sampler.DdimSampler;
import org.deltadit.sampler.NoiseSchedule;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Spacing;
import org.deltadit.weights.Json;

/**
 * What an SD 1.x repository's scheduler/scheduler_config.json says about the noise schedule and the
 * timesteps (SD 1.5: scaled_linear 0.00085…0.012, steps_offset 1, set_alpha_to_one false); missing fields
 * take SD 1.5's values, and a missing timestep_spacing each scheduler's own default (DDIM leading,
 * DPM-Solver++ linspace), as from_config leaves them.
 */
record Sd15Scheduler(double betaStart, double betaEnd, String spacing, int stepsOffset, boolean setAlphaToOne) {

    static Sd15Scheduler read(Path repo) {
        Path f = repo.resolve("scheduler").resolve("scheduler_config.json");
        Map<String, Object> c = Files.isRegularFile(f) ? Json.readObject(f) : Map.of();
        Object schedule = c.getOrDefault("beta_schedule", "scaled_linear");
        if (!"scaled_linear".equals(schedule)) throw new InvalidParameter("model", f + ": beta_schedule '" + schedule + "' (SD 1.x trains with scaled_linear; only it is built)");
        return new Sd15Scheduler(number(c, "beta_start", 0.00085, f), number(c, "beta_end", 0.012, f), c.get("timestep_spacing") == null ? null : String.valueOf(c.get("timestep_spacing")),
                (int) number(c, "steps_offset", 1, f), !(c.get("set_alpha_to_one") instanceof Boolean b) || b);
    }

    private static double number(Map<String, Object> c, String key, double dflt, Path f) {
        Object v = c.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number n)) throw new InvalidParameter("model", f + ": " + key + " is " + v + ", not a number");
        return n.doubleValue();
    }

    /** PNDM (N steps: N + 1 evaluations) or DDIM with this schedule; {@code spacing} (null: the config's) overrides DDIM's spacing. */
    org.deltadit.sampler.Sampler sampler(String name, int steps, String spacing, double eta) {
        NoiseSchedule s = NoiseSchedule.scaledLinear(betaStart, betaEnd);
        if (Samplers.isDpmSolver(name)) {
            // DPMSolverMultistepScheduler.from_config: its spacing default is linspace (steps_offset applies to leading only)
            String sp = spacing != null ? spacing : this.spacing != null ? this.spacing : "linspace";
            if (!sp.equals("linspace")) throw new InvalidParameter("spacing", "dpm-solver++ on SD 1.x is wired for linspace spacing, not " + sp);
            return new org.deltadit.sampler.DpmSolverPlusPlus(steps, Spacing.LINSPACE, s);
        }
        if (name.equals("pndm")) {
            if (spacing != null) throw new InvalidParameter("spacing", "pndm spaces its timesteps itself (k·(1000 // N) + steps_offset)");
            if (eta != 0) throw new InvalidParameter("eta", "applies to ddim, not pndm");
            return new org.deltadit.sampler.PndmSampler(steps, s, stepsOffset, setAlphaToOne);
        }
        return new DdimSampler(steps, Spacing.parse(spacing != null ? spacing : this.spacing != null ? this.spacing : "leading"), eta, s, stepsOffset, setAlphaToOne);
    }
}
