{
  "targets": [
    {
      "target_name": "shmkit_segment",
      "sources": [
        "native/addon.cc",
        "native/async_wait.cc",
        "native/files_binding.cc",
        "native/v8_buffer.cc",
        "native/platform/bus_guard.cc",
        "native/platform/files.cc",
        "native/platform/futex.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "SHMKIT_NODE_MODULE_VERSION=<(node_module_version)"
      ],
      "cflags_cc": [
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers"
      ],
      "actions": [
        {
          "action_name": "abi_record",
          "inputs": [
            "scripts/abi-record.mjs",
            "<(PRODUCT_DIR)/../config.gypi"
          ],
          "outputs": [
            "<(PRODUCT_DIR)/shmkit_segment.abi.json"
          ],
          "action": [
            "node",
            "scripts/abi-record.mjs",
            "<@(_outputs)",
            "<(node_module_version)"
          ]
        }
      ]
    }
  ]
}
