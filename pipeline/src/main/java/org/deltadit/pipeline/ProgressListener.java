package org.deltadit.pipeline;

import org.deltadit.cache.BlockRunner;

/**
 * What a generation tells its caller while it runs. Every method has a default, so a listener
 * implements only what it needs; the CLI's progress bar is one listener, the analyses another.
 */
public interface ProgressListener {
    /** Nothing to tell. */
    ProgressListener NONE = new ProgressListener() {};

    /** After each sampling step of each batch: {@code done} of {@code total} steps of the whole request, {@code seconds} of sampling so far. */
    default void step(int done, int total, double seconds) {}

    /**
     * Before the batch of images [from, to) starts: an observer of every block of its uncached steps
     * (the paper's analyses), or null for none.
     */
    default BlockRunner.BlockObserver blocks(int from, int to) { return null; }
}
