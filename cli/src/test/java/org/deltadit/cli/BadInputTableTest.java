package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promise for every subcommand, as a table: each bad input exits with status 2 and exactly one
 * line on stderr ("dit: …", no trace, no progress), and leaves no file behind. Where the message
 * matters, the row says what it must contain.
 */
class BadInputTableTest {
    @TempDir Path dir;
    static final String DEMO = "../models/demo", TINY = MainTest.FIX + "tiny_dit.safetensors";

    record Case(String[] args, String mustSay) {}

    private final List<Case> cases = new ArrayList<>();

    private void bad(String mustSay, String... args) { cases.add(new Case(args, mustSay)); }

    /** generate on the demo model, writing to dir/x.png unless the case says otherwise. */
    private void gen(String mustSay, String... extra) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", DEMO));
        a.addAll(List.of(extra));
        if (!a.contains("--steps")) a.addAll(List.of("--steps", "2"));
        if (!a.contains("--threads")) a.addAll(List.of("--threads", "2"));
        if (!a.contains("--out")) a.addAll(List.of("--out", dir.resolve("x.png").toString()));
        bad(mustSay, a.toArray(new String[0]));
    }

    private Path file(String name, String text) throws IOException { return Files.writeString(dir.resolve(name), text); }

    /** A tiny DiT folder whose config.json says {@code config}. */
    private Path tinyModel(String name, String config) throws IOException {
        Path m = Files.createDirectories(dir.resolve(name));
        Files.copy(Path.of(TINY), m.resolve("model.safetensors"));
        Files.writeString(m.resolve("config.json"), config);
        return m;
    }

    /** A VAE folder (the tiny VAE's weights) whose config.json says {@code config}. */
    private Path vae(String name, String config) throws IOException {
        Path v = Files.createDirectories(dir.resolve(name));
        SafetensorsWriter.copy(Path.of("../dit-model/src/test/resources/fixtures/tiny_vae.safetensors"), v.resolve("diffusion_pytorch_model.safetensors"),
                k -> k.startsWith("w."), "w.");
        Files.writeString(v.resolve("config.json"), config);
        return v;
    }

    @Test
    void everyBadInputIsOneLineStatusTwoAndLeavesNothingBehind() throws IOException {
        String out = dir.resolve("x.png").toString();
        Path folderPng = Files.createDirectories(dir.resolve("folder.png"));
        Path aFile = file("plain.txt", "x");
        Files.createDirectories(dir.resolve("empty"));
        Path tenWide = dir.resolve("ten.npz");
        org.deltadit.eval.Npz.writeStats(tenWide, new org.deltadit.eval.Fid.Stats(new double[10], new double[10][10], 0));
        Path wrongNoise = dir.resolve("wrong.safetensors"), i64Noise = dir.resolve("i64.safetensors"), noNoise = dir.resolve("nonoise.safetensors");
        SafetensorsWriter.write(wrongNoise, Map.of("noise", Tensor.zeros(1, 1, 31, 32)), null);
        SafetensorsWriter.write(noNoise, Map.of("other", Tensor.zeros(1, 1, 32, 32)), null);
        writeI64(i64Noise);
        Path badJson = file("bad.json", "{not json");
        Path stringSize = tinyModel("string-size", "{\"input_size\": \"8\", \"num_heads\": 2}");
        Path yesSigma = tinyModel("yes-sigma", "{\"input_size\": 8, \"num_heads\": 2, \"learn_sigma\": \"yes\"}");
        Path threeHeads = tinyModel("heads", "{\"input_size\": 8, \"num_heads\": 2}");
        Path noBlocks = vae("vae-empty", "{\"block_out_channels\": []}");
        Path textBlock = vae("vae-text", "{\"block_out_channels\": [16, \"32\"], \"norm_num_groups\": 8}");
        Path stringScale = vae("vae-scale", "{\"block_out_channels\": [16, 32], \"norm_num_groups\": 8, \"scaling_factor\": \"0.13\"}");
        Path tinyDit = Path.of(MainTest.FIX + "tiny_dit.pt");

        // generate: classes, counts, steps, samplers, guidance
        gen("--class: 10 outside [0, 10)", "--class", "10");
        gen("--class", "--class", "-1");
        gen("empty entry", "--class", "1,,2");
        gen("empty entry", "--class", "1,2,");
        gen("not a class number", "--class", "a");
        gen("--count: 2 is fewer than the 3 classes", "--class", "1,2,3", "--count", "2");
        gen("--count", "--count", "0");
        gen("--count", "--count", "-3");
        gen("needs at least", "--count", "2147483647");
        gen("--batch", "--batch", "0");
        gen("--steps", "--steps", "0");
        gen("--steps", "--steps", "-1");
        gen("--steps", "--steps", "1001");
        gen("--sampler: unknown sampler 'heun'", "--sampler", "heun");
        gen("--spacing", "--spacing", "karras");
        gen("--cfg", "--cfg", "nan");
        gen("--cfg", "--cfg", "-5");
        gen("--cfg", "--cfg", "101");
        gen("--guide-channels", "--guide-channels", "5");
        gen("--guide-channels", "--guide-channels", "0");
        gen("--max-skips: 0 (at least 1)", "--cache", "adaptive-delta", "--max-skips", "0");
        gen("--max-skips: applies to --cache adaptive-delta", "--cache", "delta-dit", "--max-skips", "2");
        gen("drop --interval", "--cache", "adaptive-delta", "--interval", "2");
        gen("--cached-blocks", "--cache", "adaptive-delta", "--cached-blocks", "29");
        gen("--threshold", "--cache", "adaptive-delta", "--threshold", "10");
        gen("--eta: applies to ddim", "--eta", "0.5");
        gen("--eta", "--sampler", "ddim", "--eta", "2");
        gen("--clip-sample: applies to ddpm, ddim and dpm-solver++, not euler", "--sampler", "euler", "--clip-sample", "1");
        gen("--clip-sample: 0.0 (a range above 0)", "--clip-sample", "0");
        gen("--clip-sample", "--clip-sample", "nan");
        gen("--dynamic-thresholding: ratio 1.5 (a quantile above 0, at most 1)", "--dynamic-thresholding", "1.5");
        gen("--dynamic-thresholding: sample max value 0.5", "--dynamic-thresholding", "0.9,0.5");
        gen("--dynamic-thresholding: 'x' (RATIO or RATIO,MAX", "--dynamic-thresholding", "x");
        gen("--dynamic-thresholding: and the clip-sample clamp exclude each other", "--dynamic-thresholding", "0.995", "--clip-sample", "1");
        gen("--dynamic-thresholding: applies to ddpm, ddim and dpm-solver++, not euler", "--sampler", "euler", "--dynamic-thresholding", "0.995");
        gen("--final-sigma", "--final-sigma", "max");
        gen("--final-sigma: applies to dpm-solver++", "--sampler", "ddim", "--final-sigma", "min");
        gen("--lcm-timesteps: applies to lcm", "--lcm-timesteps", "legacy");
        gen("--lcm-timesteps", "--sampler", "lcm", "--lcm-timesteps", "old");
        gen("--steps: LCM takes at most 50", "--sampler", "lcm", "--steps", "51");
        // the model and its files
        gen("positional table is for input size 32, not 24", "--image-size", "24");
        gen("--image-size", "--image-size", "7");
        gen("", "--image-size", "100000");
        gen("--heads", "--heads", "0");
        gen("--arch", "--arch", "DiT-Q/3");
        gen("--arch DiT-XL/2 does not match", "--arch", "DiT-XL/2");
        bad("", "generate", "--model", dir.resolve("missing.safetensors").toString(), "--out", out);
        bad("", "generate", "--model", dir.resolve("empty").toString(), "--out", out);
        gen("", "--config", dir.resolve("missing.json").toString());
        gen("", "--config", badJson.toString());
        gen("--weights-key applies to PyTorch", "--weights-key", "ema");
        gen("not an AutoencoderKL", "--vae", tinyDit.toString());
        gen("", "--vae", dir.resolve("novae").toString());
        gen("--noise", "--noise", dir.resolve("missing.safetensors").toString());
        gen("--noise: [1, 1, 31, 32]", "--noise", wrongNoise.toString());
        gen("I64", "--noise", i64Noise.toString());
        gen("no tensor 'noise'", "--noise", noNoise.toString());
        // outputs
        gen("also the --out image", "--save-latent", out);
        gen("images are written as PNG", "--out", dir.resolve("x.jpg").toString());
        gen("--out: an empty path", "--out", "");
        gen("is a file, not a folder", "--out", aFile.resolve("x.png").toString());
        gen("--grid writes one PNG", "--out", dir.resolve("imgs").toString(), "--grid");
        gen("is a folder", "--out", folderPng.toString());
        gen("--save-latent", "--save-latent", aFile.resolve("l.safetensors").toString());
        // text-to-image flags on a class-conditional model
        gen("--prompt: a class-conditional DiT takes class labels", "--prompt", "a cat");
        gen("--negative-prompt: a class-conditional DiT takes class labels", "--negative-prompt", "x");
        gen("--text-embeddings: a class-conditional DiT takes class labels", "--text-embeddings", aFile.toString());
        bad("--class: class labels are for class-conditional models, prompts", "generate", "--model", DEMO, "--class", "1", "--prompt", "a cat", "--out", out);
        gen("--text-embeddings", "--text-embeddings", dir.resolve("missing.safetensors").toString());
        gen("--text-encoder: applies to text-to-image", "--text-encoder", dir.toString());
        gen("--tokenizer: applies to text-to-image", "--tokenizer", dir.toString());
        // random weights
        bad("--arch", "generate", "--random-weights", "--out", out);
        bad("exclude each other", "generate", "--random-weights", "--arch", "DiT-S/2", "--model", DEMO, "--out", out);
        bad("--config: does not apply to random weights", "generate", "--random-weights", "--arch", "DiT-S/2", "--config", badJson.toString(), "--out", out);
        bad("--arch", "generate", "--random-weights", "--arch", "DiT-Q/3", "--out", out);
        bad("needs at least", "generate", "--random-weights", "--arch", "DiT-S/2", "--image-size", "100000", "--out", out);
        // device
        gen("--device: unknown device 'tpu'", "--device", "tpu");
        gen("--threads: 0", "--threads", "0");
        gen("--threads", "--threads", "-2");
        // cache options
        gen("--cache: unknown policy", "--cache", "mystery");
        gen("--b: 21", "--cache", "delta-dit", "--b", "21");
        gen("--b", "--cache", "delta-dit", "--b", "-1");
        gen("--interval: 0", "--cache", "delta-dit", "--interval", "0");
        gen("--cached-blocks: 29", "--cache", "delta-dit", "--cached-blocks", "29");
        gen("--cached-blocks", "--cache", "delta-dit", "--cached-blocks", "-1");
        gen("--range: 5:5", "--cache", "delta-cache", "--range", "5:5");
        gen("--range: 'a:b'", "--cache", "delta-cache", "--range", "a:b");
        gen("--range: 20:30", "--cache", "delta-cache", "--range", "20:30");
        gen("--range", "--cache", "skip", "--range", "1:2:3");
        gen("best reachable", "--cache", "delta-dit", "--speedup", "40");
        gen("--speedup", "--cache", "delta-dit", "--speedup", "0.5");
        gen("--speedup", "--cache", "delta-dit", "--speedup", "1.5", "--interval", "2");
        gen("--b: needs a cache policy", "--b", "3");
        gen("--cache-bf16", "--cache-bf16");
        gen("needs a PixArt model", "--cache", "tgate");
        gen("--cached-blocks", "--cache", "faster-diffusion", "--cached-blocks", "0");
        gen("--range: does not apply", "--cache", "faster-diffusion", "--range", "1:3");
        gen("--reverse", "--cache", "delta-cache", "--reverse");
        gen("--gate-step", "--gate-step", "3");
        Path unknownField = file("unknown.json", "{\"kind\": \"delta-dit\", \"bb\": 3}");
        Path noKind = file("nokind.json", "{\"b\": 3}");
        Path tooDeep = file("deep.json", "{\"kind\": \"delta-dit\", \"cached_blocks\": 40}");
        gen("--cache-config: ", "--cache-config", dir.resolve("missing.json").toString());
        gen("unknown.json: bb: unknown field", "--cache-config", unknownField.toString());
        gen("nokind.json: kind: missing", "--cache-config", noKind.toString());
        gen("--cached-blocks: 40", "--cache-config", tooDeep.toString());
        gen("the file gives the policy", "--cache-config", noKind.toString(), "--cache", "delta-dit");
        gen("not valid JSON", "--cache-config", badJson.toString());
        gen("Unknown option", "--frobnicate");
        gen("--steps", "--steps", "abc");
        gen("--seed", "--seed", "abc");
        // config files, typed
        bad("config.json: config field 'input_size' is a string (\"8\")", "generate", "--model", stringSize.toString(), "--save-latent", dir.resolve("l.safetensors").toString());
        bad("'learn_sigma' is a string (\"yes\")", "generate", "--model", yesSigma.toString(), "--save-latent", dir.resolve("l.safetensors").toString());
        bad("--heads: 3 contradicts", "generate", "--model", threeHeads.toString(), "--heads", "3", "--save-latent", dir.resolve("l.safetensors").toString());
        bad("'block_out_channels' is a list", "generate", "--model", threeHeads.toString(), "--vae", noBlocks.toString(), "--out", out);
        bad("has a string (\"32\") at position 1", "generate", "--model", threeHeads.toString(), "--vae", textBlock.toString(), "--out", out);
        bad("'scaling_factor' is a string", "generate", "--model", threeHeads.toString(), "--vae", stringScale.toString(), "--out", out);
        // plan
        bad("give --arch or --model", "plan");
        bad("give --arch or --model", "plan", "--arch", "DiT-XL/2", "--model", DEMO);
        bad("--cfg", "plan", "--arch", "DiT-XL/2", "--cfg", "nan");
        bad("--steps", "plan", "--arch", "DiT-XL/2", "--steps", "0");
        bad("--image-size", "plan", "--arch", "PixArt-XL/2", "--image-size", "300");
        bad("--image-size", "plan", "--arch", "DiT-XL/2", "--image-size", "33");
        bad("", "plan", "--model", DEMO, "--image-size", "30");
        bad("--sampler", "plan", "--arch", "DiT-XL/2", "--sampler", "foo");
        // bench forward
        bad("--seconds: NaN", "bench", "forward", "--seconds", "NaN");
        bad("--seconds: 0", "bench", "forward", "--seconds", "0");
        bad("--batch: 0", "bench", "forward", "--batch", "0");
        bad("--history: . is a folder", "bench", "forward", "--history", ".");
        bad("--image-size: 33", "bench", "forward", "--image-size", "33");
        bad("--dtype", "bench", "forward", "--dtype", "F64");
        bad("needs at least", "bench", "forward", "--batch", "100000000");
        bad("--threads", "bench", "forward", "--threads", "0");
        bad("--arch", "bench", "forward", "--arch", "DiT-Q/3");
        // bench compare
        bad("--rows: 't0'", "bench", "compare", "--model", DEMO, "--rows", "t0");
        bad("--rows: unknown row 'warp'", "bench", "compare", "--model", DEMO, "--rows", "full,warp");
        bad("--rows: 'delta-dit@fast': the budget after @ is a MAC speedup", "bench", "compare", "--model", DEMO, "--rows", "delta-dit@fast");
        bad("--rows: 'full@2': only delta-dit, reverse", "bench", "compare", "--model", DEMO, "--rows", "full@2");
        bad("--rows: 'deep@0.5': a MAC speedup from 1 to 100", "bench", "compare", "--model", DEMO, "--rows", "deep@0.5");
        bad("is not reachable", "bench", "compare", "--model", DEMO, "--rows", "delta-dit@60");
        bad("--count", "bench", "compare", "--model", DEMO, "--count", "0");
        bad("--bootstrap: 5 resamples (at least 20; 200 is typical)", "bench", "compare", "--model", DEMO, "--bootstrap", "5");
        bad("--steps", "bench", "compare", "--model", DEMO, "--steps", "1");
        bad("--classifier: " + dir.resolve("empty") + ": no classifier.safetensors and fid_stats.safetensors there", "bench", "compare", "--model", DEMO, "--classifier",
                dir.resolve("empty").toString(), "--count", "1", "--steps", "2");
        bad("--cfg", "bench", "compare", "--model", DEMO, "--cfg", "nan");
        String inception = "../eval/src/test/resources/fixtures/tiny_pt_inception.pth", stats = "../eval/src/test/resources/fixtures/tiny_fid_stats.npz";
        bad("--metrics fid: needs --fid-weights", "bench", "compare", "--model", DEMO, "--metrics", "fid");
        bad("--metrics fid: needs --fid-stats", "bench", "compare", "--model", DEMO, "--metrics", "fid", "--fid-weights", inception);
        bad("--metrics: unknown metric 'kid' (fid, is, clip)", "bench", "compare", "--model", DEMO, "--metrics", "is,kid", "--fid-weights", inception);
        bad("--metrics clip: needs --clip-model DIR", "bench", "compare", "--model", DEMO, "--metrics", "clip");
        bad("give --prompts FILE", "bench", "compare", "--model", DEMO, "--metrics", "clip", "--clip-model", "../dit-model/src/test/resources/fixtures/tiny_clip");
        bad("--prompts: DiT (depth 28, hidden 96, 4 heads, patch 4) is class-conditional", "bench", "compare", "--model", DEMO, "--prompts", aFile.toString(), "--count", "1");
        bad("--prompts: 1 prompts for 100 images per row", "bench", "compare", "--model", DEMO, "--prompts", aFile.toString());
        bad("--clip-model: only with --metrics clip", "bench", "compare", "--model", DEMO, "--clip-model", DEMO);
        bad("--fid-weights: " + DEMO + "/nope.pth: no such file", "bench", "compare", "--model", DEMO, "--metrics", "is", "--fid-weights", DEMO + "/nope.pth");
        bad("not the FID Inception-v3", "bench", "compare", "--model", DEMO, "--metrics", "is", "--fid-weights", DEMO + "/classifier.safetensors");
        bad("holds 10-wide statistics; the network's features are 128 wide", "bench", "compare", "--model", DEMO, "--metrics", "fid", "--fid-weights", inception, "--fid-stats", tenWide.toString());
        bad("--images: " + dir.resolve("empty") + " holds 0 images", "fid-stats", "--images", dir.resolve("empty").toString(), "--fid-weights", inception, "--out", dir.resolve("s.npz").toString());
        bad("--images: " + dir.resolve("nope") + ": no such folder", "fid-stats", "--images", dir.resolve("nope").toString(), "--fid-weights", inception, "--out", dir.resolve("s.npz").toString());
        bad("Missing required option: '--fid-weights", "fid-stats", "--images", dir.resolve("empty").toString(), "--out", dir.resolve("s.npz").toString());
        bad("not a .npz file", "bench", "compare", "--model", DEMO, "--metrics", "fid", "--fid-weights", inception, "--fid-stats", DEMO + "/config.json");
        bad("", "bench", "compare", "--model", dir.resolve("missing").toString());
        // analyze
        bad("--count", "analyze", "fourier", "--model", DEMO, "--count", "0", "--out", dir.resolve("a").toString());
        bad("--steps", "analyze", "delta-similarity", "--model", DEMO, "--steps", "1", "--out", dir.resolve("a").toString());
        bad("--cfg", "analyze", "fourier", "--model", DEMO, "--cfg", "-1", "--out", dir.resolve("a").toString());
        bad("is a file", "analyze", "fourier", "--model", DEMO, "--out", aFile.toString());
        // encode
        bad("give --model", "encode", "--prompt", "a", "--out", dir.resolve("e.safetensors").toString());
        bad("not a folder", "encode", "--model", dir.resolve("missing").toString(), "--prompt", "a", "--out", dir.resolve("e.safetensors").toString());
        bad("--text-encoder: ", "encode", "--model", DEMO, "--prompt", "a", "--out", dir.resolve("e.safetensors").toString());
        bad("--max-tokens", "encode", "--model", DEMO, "--prompt", "a", "--max-tokens", "100000000", "--out", dir.resolve("e.safetensors").toString());
        bad("--max-tokens", "encode", "--model", DEMO, "--prompt", "a", "--max-tokens", "1", "--out", dir.resolve("e.safetensors").toString());
        bad("--out", "encode", "--model", DEMO, "--prompt", "a", "--out", aFile.resolve("e.safetensors").toString());
        // info
        bad("Missing required option", "info");
        bad("", "info", "--model", dir.resolve("missing").toString());
        bad("--heads", "info", "--model", DEMO, "--heads", "0");
        // selfcheck
        bad("--gemm: 65536x65536x65536", "selfcheck", "--gemm", "65536x65536x65536");
        String qOut = dir.resolve("q").toString();
        bad("--group-size: -1", "quantize", "--model", DEMO, "--out", qOut, "--group-size", "-1");
        bad("--group-size 7 does not divide the 96 inputs of 'blocks.0.", "quantize", "--model", DEMO, "--out", qOut, "--group-size", "7");
        bad("--out: " + dir + " exists", "quantize", "--model", DEMO, "--out", dir.toString());
        bad("--out: " + aFile + " exists", "quantize", "--model", DEMO, "--out", aFile.toString());
        bad("no such file", "quantize", "--model", dir.resolve("missing").toString(), "--out", qOut);
        bad("--gemm", "selfcheck", "--gemm", "2x2");
        bad("--threads", "selfcheck", "--threads", "0");
        bad("--device: unknown device 'gpu'", "selfcheck", "--device", "gpu");

        Set<String> before = listing();
        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            MainTest.Run r = MainTest.run(c.args());
            String what = String.join(" ", c.args()).replace(dir.toString(), "DIR");
            List<String> lines = r.err().strip().lines().toList();
            if (r.status() != 2) failures.add(what + " → status " + r.status() + ": " + r.err());
            else if (lines.size() != 1 || !lines.get(0).startsWith("dit: ")) failures.add(what + " → not one line: " + r.err());
            else if (!lines.get(0).contains(c.mustSay())) failures.add(what + " → '" + lines.get(0) + "' does not say '" + c.mustSay() + "'");
            else if (lines.get(0).contains("Exception")) failures.add(what + " → " + lines.get(0));
            Set<String> after = listing();
            if (!after.equals(before)) {
                failures.add(what + " left files: " + diff(before, after));
                before = after;
            }
        }
        assertTrue(cases.size() >= 100, cases.size() + " cases");
        assertEquals(List.of(), failures, failures.size() + " of " + cases.size() + " cases broke the promise");
    }

    @Test
    void aCommandWithoutItsSubcommandIsStatusTwo() {
        for (String[] a : new String[][] {{}, {"bench"}, {"analyze"}}) {
            MainTest.Run r = MainTest.run(a);
            assertEquals(2, r.status(), String.join(" ", a));
            assertTrue(r.err().startsWith("dit: ") && r.err().contains("needs a subcommand"), r.err());
        }
    }

    private Set<String> listing() throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return new TreeSet<>(all.map(p -> dir.relativize(p).toString()).toList());
        }
    }

    private static Set<String> diff(Set<String> a, Set<String> b) {
        Set<String> d = new TreeSet<>(b);
        d.removeAll(a);
        return d;
    }

    /** A safetensors file whose 'noise' holds I64 values of the right shape. */
    private static void writeI64(Path f) throws IOException {
        int n = 32 * 32;
        String header = "{\"noise\":{\"dtype\":\"I64\",\"shape\":[1,1,32,32],\"data_offsets\":[0," + 8 * n + "]}}";
        while ((header.length()) % 8 != 0) header += " ";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length() + 8 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length()).put(header.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Files.write(f, b.array());
    }
}
