#include <stdio.h>
int main(void){puts("vmon");return 0;}
