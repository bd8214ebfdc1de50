raise ImportError("the plugin needs a library this machine lacks")
