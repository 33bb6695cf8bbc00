package org.deltadit.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.eval.Fid;
import org.deltadit.eval.FidStatistics;
import org.deltadit.eval.InceptionV3;
import org.deltadit.eval.Npz;
import org.deltadit.weights.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit fid-stats}: reference FID statistics (.npz: mu, sigma) of a folder of real images, for bench compare --fid-stats. */
@Command(name = "fid-stats", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compute FID reference statistics (.npz with mu and sigma) of a folder of images with the FID Inception-v3.")
final class FidStatsCommand implements Callable<Integer> {
    @Option(names = "--images", required = true, description = "a folder of .png/.jpg/.bmp images (e.g. the real dataset's)")
    Path images;
    @Option(names = "--fid-weights", required = true, description = "the FID Inception-v3 weights (pt_inception-2015-12-05-6726825d.pth)")
    Path weights;
    @Option(names = "--out", required = true, description = "the .npz file to write")
    Path out;
    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() {
        AtomicFiles.checkWritable(out, "--out");
        List<Path> files = FidStatistics.images(images);
        InceptionV3 net = InceptionV3.load(weights, engine.backend());
        long start = System.nanoTime();
        Fid.Stats s = FidStatistics.of(files, net, done -> {
            if (done % 100 == 0 || done == files.size()) System.err.printf(Locale.ROOT, "fid-stats: %d/%d images%n", done, files.size());
        });
        Npz.writeStats(out, s);
        System.err.printf(Locale.ROOT, "fid-stats: %d images, %d features, %.1f s → %s%n", files.size(), s.mu().length, (System.nanoTime() - start) / 1e9, out);
        return 0;
    }
}
