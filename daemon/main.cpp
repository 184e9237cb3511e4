// vmrefclockd entry point; replaced by the full daemon as it lands.
int main() { return 0; }
