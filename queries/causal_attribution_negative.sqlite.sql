SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) < ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'set_id_1': 451, 'unit_2': 256, 'model_id_1': 2, 'site_1': 'mlp', 'param_1': -0.800000011920929, 'param_2': 101, 'param_3': 0}
-- score sets read:
-- attribution(negation) of gpt2: run 4, method row 14 {"baseline":"zero","batch_sentences":16,"probe_sentences":300,"rule":"midpoint","seed":0,"sentences":64,"steps":20,"target":"auto"}
