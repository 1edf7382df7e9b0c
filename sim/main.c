/* placeholder until the node core lands */
int main(void)
{
    return 1;
}
