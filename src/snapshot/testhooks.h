/* Test hooks (testhooks.c). */
#ifndef SNAP_TESTHOOKS_H
#define SNAP_TESTHOOKS_H

/* Test hook: NEARUP_SNAPSHOT_TEST_DELAY_MS slows every chunk job, so tests
 * can interrupt a create or restore midway. */
void snap_test_delay(void);
/* Test hook: sleeps NEARUP_SNAPSHOT_TEST_CHECKPOINT_DELAY_MS while create
 * holds the home lock of a stopped node, before it links the checkpoint. */
void snap_test_checkpoint_delay(void);

#endif
