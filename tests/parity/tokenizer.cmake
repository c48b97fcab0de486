# Tokenizer parity with Hugging Face `tokenizers` (included by tests/CMakeLists.txt).
#
#   ctest -R tokenizer_parity            # runs the fixture script, then the comparison
#
# tokenizer_parity_fixtures trains tokenizers with the venv's `tokenizers` and writes
# them with HF's ids and decoded text for >= 1,000 strings each; tokenizer_parity
# compares rlae::Tokenizer with them. If the fixtures cannot be made, ctest reports
# tokenizer_parity as not run, which fails the run.
set(RLAE_TOKENIZER_FIXTURES ${CMAKE_CURRENT_BINARY_DIR}/tokenizer_fixtures)

add_executable(rlae_tokenizer_parity ${CMAKE_CURRENT_LIST_DIR}/test_tokenizer_parity.cpp)
target_link_libraries(rlae_tokenizer_parity PRIVATE rlae_common GTest::gtest_main rlae_warnings)

add_test(NAME tokenizer_parity_fixtures
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_tokenizer_fixtures.py
                 ${RLAE_TOKENIZER_FIXTURES})
set_tests_properties(tokenizer_parity_fixtures PROPERTIES
                     FIXTURES_SETUP rlae_tokenizer_fixtures TIMEOUT 600 LABELS parity)

add_test(NAME tokenizer_parity COMMAND rlae_tokenizer_parity)
set_tests_properties(tokenizer_parity PROPERTIES
                     FIXTURES_REQUIRED rlae_tokenizer_fixtures
                     ENVIRONMENT RLAE_TOKENIZER_FIXTURES=${RLAE_TOKENIZER_FIXTURES}
                     TIMEOUT 300 LABELS parity)
