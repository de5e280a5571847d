/* demo_blob_none.c — linked into vmon when the guests are not built (-Dguests=false): no bundled
 * demo guest. */
extern const unsigned char vmon_demo_guest[];
extern const unsigned long vmon_demo_guest_len;
const unsigned char vmon_demo_guest[1];
const unsigned long vmon_demo_guest_len = 0;
