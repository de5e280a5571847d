const unsigned char vmon_demo_guest[1]; const unsigned long vmon_demo_guest_len = 0;
