# `rlae tokenizer train` writes tokenizer.json files that Hugging Face loads and
# encodes exactly as rlae does (included by tests/CMakeLists.txt).
#
#   ctest -R tokenizer_train_parity --output-on-failure
add_test(NAME tokenizer_train_parity
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_trained_tokenizer.py
                 $<TARGET_FILE:rlae> ${CMAKE_CURRENT_BINARY_DIR}/tokenizer_train_parity)
set_tests_properties(tokenizer_train_parity PROPERTIES TIMEOUT 600 LABELS parity)
