/**
 * Models. Each exposes its block stack (embed, block i, final layer) and knows nothing about
 * caching: a cache policy decides which blocks run.
 */
package org.deltadit.dit;
